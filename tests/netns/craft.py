#!/usr/bin/python3
"""Hostile underlay traffic for tests/netns/hostile.sh, with no dependency
beyond the Python standard library (packets are built by hand).

  craft.py matrix CONF.json   runs the hostile-packet matrix against b1 from
                              the namespace it is started in (b3): for every
                              class, sends the packets, waits for b1's
                              counters to settle and checks that exactly
                              the expected drop counter moved, by exactly
                              the number sent, that nothing reached left
                              (the sniffer's file), and prints a JSON row
                              per class; exits 1 on any failed check
  craft.py sniff DEV LEGIT_MAC OUT
                              counts the frames DEV receives whose source
                              MAC is not LEGIT_MAC: one line each in OUT
  craft.py flood DEV DST_MAC COUNT SECONDS PPS
                              writes COUNT frames to DEV (AF_PACKET), each
                              with its own source MAC, at most PPS a
                              second and for at most SECONDS, or until
                              SIGTERM; prints JSON
  craft.py model              self-test of the classifier model
Every loop is bounded by a count and every wait by a deadline.
"""
import errno
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
HOSTILE_TYPE = 0x88b5          # IEEE local experimental: nothing answers it


# --- packet building -------------------------------------------------------

def csum16(b):
    """RFC 1071 one's complement sum, folded (not inverted); an odd last
    byte is padded with zero, as the daemon's csum_partial does."""
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('>%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def ip_aton(a):
    return socket.inet_aton(a)


def ipv4(src, dst, proto, payload, opts=b'', ihl=None, tot_len=None,
         ver=4, bad_csum=False, ident=0x1234, df=True):
    hl = 20 + len(opts)
    if ihl is None:
        ihl = hl // 4
    if tot_len is None:
        tot_len = hl + len(payload)
    h = bytearray(struct.pack('>BBHHHBBH4s4s', ver << 4 | ihl, 0, tot_len,
                              ident, 0x4000 if df else 0, 64, proto, 0,
                              ip_aton(src), ip_aton(dst)) + opts)
    c = ~csum16(bytes(h)) & 0xffff
    if bad_csum:
        c ^= 0x5a5a
    struct.pack_into('>H', h, 10, c)
    return bytes(h) + payload


def udp(sport, dport, payload, csum=0):
    return struct.pack('>HHHH', sport, dport, 8 + len(payload), csum) + payload


def udp_csum(src, dst, seg):
    pseudo = ip_aton(src) + ip_aton(dst) + struct.pack('>BBH', 0, 17, len(seg))
    c = ~csum16(pseudo + seg) & 0xffff
    return c or 0xffff


def mac_bytes(m):
    return bytes(int(x, 16) for x in m.split(':'))


def mac_str(b):
    return ':'.join('%02x' % x for x in b)


def frame(dst, src, tag, size=60, vlan=False, ethertype=HOSTILE_TYPE):
    """An inner Ethernet frame of exactly size bytes carrying tag."""
    hdr = dst + src
    if vlan:
        hdr += struct.pack('>HH', 0x8100, 7)
    hdr += struct.pack('>H', ethertype)
    body = b'OVTHOSTILE ' + tag.encode()
    f = hdr + body
    if len(f) < size:
        f += bytes(range(256)) * ((size - len(f)) // 256 + 1)
    return f[:size]


def vxlan(vni, flags=0x08, rsvd1=b'\0\0\0', rsvd2=0):
    return bytes([flags]) + rsvd1 + struct.pack('>I', vni << 8 | rsvd2)


def geneve(vni, opts=b'', ver=0, optlen=None, oam=False, crit_flag=False,
           proto=0x6558, rsvd=0):
    if optlen is None:
        optlen = len(opts) // 4
    b1 = (0x80 if oam else 0) | (0x40 if crit_flag else 0) | rsvd
    return (bytes([ver << 6 | optlen, b1]) + struct.pack('>H', proto) +
            struct.pack('>I', vni << 8) + opts)


def gopt(cls, typ, data_words, fill=0xab):
    """A Geneve option TLV with data_words 4-byte words of data."""
    return struct.pack('>HBB', cls, typ, data_words & 0x1f) + \
        bytes([fill]) * (4 * data_words)


def gre(key=None, proto=0x6558, flags=0, seq=None, csum=False, ver=0,
        payload=b'', bad_csum=False):
    fl = flags | ver
    if key is not None:
        fl |= 0x2000
    if seq is not None:
        fl |= 0x1000
    if csum:
        fl |= 0x8000
    h = struct.pack('>HH', fl, proto)
    if csum:
        h += b'\0\0\0\0'
    if key is not None:
        h += struct.pack('>I', key)
    if seq is not None:
        h += struct.pack('>I', seq)
    pkt = bytearray(h + payload)
    if csum:
        c = ~csum16(bytes(pkt)) & 0xffff
        if bad_csum:
            c ^= 0x0101
        struct.pack_into('>H', pkt, 4, c)
    return bytes(pkt)


# --- the classifier model --------------------------------------------------
# What the daemon must answer for a packet, written from the RFCs and the
# documented order of the checks, independently of src/.

def classify_frame(f, frame_max):
    if len(f) < 14:
        return 'runt_frame'
    if len(f) > frame_max - 4 and f[12:14] != b'\x81\x00':
        return 'frame_too_big'
    if len(f) > frame_max:
        return 'frame_too_big'
    if f[6] & 1 or f[6:12] == bytes(6):
        return 'bad_source_mac'
    return None


def classify(encap, p, key, frame_max):
    """encap of the peer the packet comes from, p the bytes after the outer
    IP header (GRE) or the UDP header; None means delivered."""
    if encap == 'vxlan':
        if len(p) < 8:
            return 'too_short'
        if not p[0] & 0x08:
            return 'bad_flags'
        if int.from_bytes(p[4:7], 'big') != key:
            return 'wrong_key'
        return classify_frame(p[8:], frame_max)
    if encap == 'geneve':
        if len(p) < 8:
            return 'too_short'
        if p[0] >> 6 != 0:
            return 'bad_version'
        ol = (p[0] & 0x3f) * 4
        if len(p) < 8 + ol:
            return 'too_short'
        if p[1] & 0x80:
            return 'oam_frame'
        if p[2:4] != b'\x65\x58':
            return 'bad_protocol'
        off, crit = 0, False
        while off < ol:
            olen = 4 + (p[8 + off + 3] & 0x1f) * 4
            if olen > ol - off:
                return 'bad_options'
            crit |= bool(p[8 + off + 2] & 0x80)
            off += olen
        if crit:
            return 'unknown_critical_option'
        if int.from_bytes(p[4:7], 'big') != key:
            return 'wrong_key'
        return classify_frame(p[8 + ol:], frame_max)
    if encap == 'gretap':
        if len(p) < 4:
            return 'too_short'
        fl = struct.unpack('>H', p[:2])[0]
        if fl & 0x7:
            return 'bad_version'
        if fl & 0x4c00:         # R, strict source route, recursion bit 5
            return 'bad_flags'
        if p[2:4] != b'\x65\x58':
            return 'bad_protocol'
        hl = 4 + 4 * (bool(fl & 0x8000) + bool(fl & 0x2000) + bool(fl & 0x1000))
        if len(p) < hl:
            return 'too_short'
        if fl & 0x8000 and csum16(p) != 0xffff:
            return 'bad_checksum'
        if not fl & 0x2000:
            return 'wrong_key' if key is not None else classify_frame(p[hl:], frame_max)
        o = 8 if fl & 0x8000 else 4
        if key is None or struct.unpack('>I', p[o:o + 4])[0] != key:
            return 'wrong_key'
        return classify_frame(p[hl:], frame_max)
    raise ValueError(encap)


# --- talking to the daemon -------------------------------------------------

class Daemon:
    def __init__(self, conf):
        self.ctl = [conf['ovtunctl'], '-s', conf['sock'], '--json']
        self.ns = conf['b1_ns']

    def q(self, cmd):
        out = subprocess.run(self.ctl + [cmd], check=True, timeout=10,
                             stdout=subprocess.PIPE).stdout
        return json.loads(out)

    def snap(self):
        st = self.q('stats')
        pe = self.q('peers')
        s = {'drops.' + k: v for k, v in st['drops'].items()}
        for k in ('tap_tx_packets', 'underlay_rx_packets'):
            s[k] = st[k]
        for p in pe['peers']:
            for k in ('rx_packets', 'rx_drops'):
                s[p['name'] + '.' + k] = p[k]
        s['fdb.entries'] = st['fdb']['entries']
        return s

    def mib(self):
        """b1's kernel counters of IPv4 and UDP input errors."""
        out = subprocess.run(['nsenter', '--net=/run/netns/' + self.ns, 'cat',
                              '/proc/net/snmp', '/proc/net/netstat'],
                             check=True, timeout=10, stdout=subprocess.PIPE
                             ).stdout.decode().splitlines()
        m = {}
        for i in range(0, len(out) - 1, 2):
            k, v = out[i].split(), out[i + 1].split()
            for a, b in zip(k[1:], v[1:]):
                m[k[0].rstrip(':') + '.' + a] = int(b)
        return m


def lines(path):
    try:
        with open(path, 'rb') as f:
            return f.read().count(b'\n')
    except FileNotFoundError:
        return 0


# --- the matrix ------------------------------------------------------------

class Matrix:
    def __init__(self, conf):
        self.c = conf
        self.d = Daemon(conf)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.sock.bind((conf['iface'], 0))
        self.my_mac = self.sock.getsockname()[4]
        self.b1_mac = mac_bytes(conf['b1_mac'])
        self.left = mac_bytes(conf['left_mac'])
        self.fmax = conf['frame_max']
        self.rows = []
        self.failures = []
        self.n_tag = 0
        self.ident = 1
        self.peers = {p['name']: p for p in conf['peers']}

    def fail(self, msg):
        self.failures.append(msg)
        print('FAIL: ' + msg, file=sys.stderr, flush=True)

    # a source MAC per accepted class, so its delivery is recognisable
    def src_mac(self):
        self.n_tag += 1
        return bytes([0x02, 0xee, 0, 0, self.n_tag >> 8, self.n_tag & 0xff])

    def ok_frame(self, tag, size=60, vlan=False):
        return frame(self.left, self.src_mac(), tag, size, vlan)

    def eth(self, ip_pkt):
        return self.b1_mac + self.my_mac + struct.pack('>H', ETH_P_IP) + ip_pkt

    def send_ip(self, ip_pkts):
        for p in ip_pkts:
            self.sock.send(self.eth(p))

    def ip(self, src, proto, l4, **kw):
        self.ident = (self.ident + 1) & 0xffff or 1
        return ipv4(src, self.c['b1'], proto, l4, ident=self.ident, **kw)

    def udp_to(self, src, dport, payload):
        return self.ip(src, 17, udp(40000 + self.ident % 1000, dport, payload))

    def gre_to(self, src, payload, **kw):
        return self.ip(src, 47, payload, **kw)

    def wait(self, cond, timeout=4.0):
        end = time.monotonic() + timeout
        while True:
            s = self.d.snap()
            if cond(s) or time.monotonic() > end:
                return s
            time.sleep(0.02)

    def row(self, name, sent, dropped, counter, ok, note=''):
        r = dict(cls=name, sent=sent, dropped=dropped, counter=counter,
                 ok=ok, note=note)
        self.rows.append(r)
        print(json.dumps(r), flush=True)

    def check(self, name, pkts, reason, peer=None, send=None, expect=None,
              uncharged=False):
        """pkts: IP packets; reason: a drop counter, or None for
        'delivered to left'. peer: the peer the drops are charged to.
        send: a callable doing the sending instead (pkts then only counts
        them); expect: how many of them are delivered; uncharged: the
        drops are not charged to peer (noted in the row)."""
        n = len(pkts) if isinstance(pkts, list) else pkts
        before = self.d.snap()
        sn0 = lines(self.c['sniff'])
        if send is None:
            self.send_ip(pkts)
        else:
            send()
        if reason is None:
            want = n if expect is None else expect
            self.wait(lambda s: lines(self.c['sniff']) - sn0 >= want)
        else:
            key = 'drops.' + reason
            self.wait(lambda s: s[key] - before[key] >= n)
        time.sleep(0.05)
        after = self.d.snap()
        delta = {k: after[k] - before[k] for k in after}
        seen = lines(self.c['sniff']) - sn0
        moved = {k[6:]: v for k, v in delta.items()
                 if k.startswith('drops.') and v}
        ok = True
        if reason is None:
            want = n if expect is None else expect
            if moved:
                self.fail('%s: drops moved %r, expected none' % (name, moved))
                ok = False
            if seen != want:
                self.fail('%s: left got %d frames, expected %d' %
                          (name, seen, want))
                ok = False
            for p in self.peers:
                if delta[p + '.rx_drops']:
                    self.fail('%s: %s rx_drops +%d' %
                              (name, p, delta[p + '.rx_drops']))
                    ok = False
            self.row(name, n, 0, 'delivered (%d)' % seen, ok)
            return ok
        if moved != {reason: n}:
            self.fail('%s: drops moved %r, expected {%r: %d}' %
                      (name, moved, reason, n))
            ok = False
        if seen:
            self.fail('%s: %d frames reached left' % (name, seen))
            ok = False
        note = ''
        for p in self.peers:
            want = n if p == peer else 0
            if p == peer and uncharged and delta[p + '.rx_drops'] == 0:
                note = 'not charged to ' + p
            elif delta[p + '.rx_drops'] != want:
                self.fail('%s: %s rx_drops +%d, expected +%d' %
                          (name, p, delta[p + '.rx_drops'], want))
                ok = False
            if p != self.c['legit_peer'] and delta[p + '.rx_packets']:
                self.fail('%s: %s rx_packets +%d' %
                          (name, p, delta[p + '.rx_packets']))
                ok = False
        self.row(name, n, delta['drops.' + reason], reason, ok, note)
        return ok

    def check_kernel(self, name, pkts, mibs):
        """Packets b1's kernel must drop before any socket: the sum of
        the MIB counters mibs rises by len(pkts); the daemon sees none."""
        n = len(pkts)
        m0, before, sn0 = self.d.mib(), self.d.snap(), lines(self.c['sniff'])
        self.send_ip(pkts) if isinstance(pkts[0], bytes) else \
            [self.sock.send(f()) for f in pkts]
        end = time.monotonic() + 4
        while True:
            m1 = self.d.mib()
            got = sum(m1.get(k, 0) - m0.get(k, 0) for k in mibs)
            if got >= n or time.monotonic() > end:
                break
            time.sleep(0.02)
        time.sleep(0.05)
        after = self.d.snap()
        moved = {k[6:]: after[k] - before[k] for k in after
                 if k.startswith('drops.') and after[k] != before[k]}
        ok = got == n and not moved and lines(self.c['sniff']) == sn0
        if not ok:
            self.fail('%s: kernel %s +%d (expected %d), daemon drops %r' %
                      (name, '+'.join(mibs), got, n, moved))
        self.row(name, n, got, 'kernel ' + '+'.join(m.split('.')[1] for m in mibs), ok)

    def check_model(self, name, items):
        """items: (ip packet, encap, l4 payload, key) of random or mutated
        packets; the model predicts every reason; per-reason deltas and the
        deliveries must match it exactly."""
        pred = {}
        accepted = 0
        for _, enc, pl, key in items:
            r = classify(enc, pl, key, self.fmax)
            if r is None:
                accepted += 1
            else:
                pred[r] = pred.get(r, 0) + 1
        ndrop = sum(pred.values())
        before = self.d.snap()
        sn0 = lines(self.c['sniff'])
        self.send_ip([i[0] for i in items])
        tot = lambda s: sum(v for k, v in s.items() if k.startswith('drops.'))
        self.wait(lambda s: tot(s) - tot(before) >= ndrop and
                  lines(self.c['sniff']) - sn0 >= accepted)
        time.sleep(0.1)
        after = self.d.snap()
        moved = {k[6:]: after[k] - before[k] for k in after
                 if k.startswith('drops.') and after[k] != before[k]}
        seen = lines(self.c['sniff']) - sn0
        ok = moved == pred and seen == accepted
        if not ok:
            self.fail('%s: drops %r delivered %d; model %r delivered %d' %
                      (name, moved, seen, pred, accepted))
        self.row(name, len(items), ndrop, ' '.join(
            '%s=%d' % kv for kv in sorted(moved.items())) +
            (' delivered=%d' % seen if seen else ''), ok)

    # -- the classes --

    def run(self):
        P = self.peers
        vx, gn, gr = P['box-2'], P['box-g'], P['box-r']
        unknown = self.c['unknown']
        R = 5        # repetitions of each packet of a class
        fm = self.fmax
        L = self.left
        bad = frame(L, b'\x02\xee\xff\x00\x00\x01', 'x')

        def vxp(payload, src=vx['remote'], port=4789):
            return self.udp_to(src, port, payload)

        def gnp(payload, src=gn['remote'], port=6081):
            return self.udp_to(src, port, payload)

        def grp(payload, src=gr['remote'], **kw):
            return self.gre_to(src, payload, **kw)

        vk, gk, rk = vx['key'], gn['key'], gr['key']
        good_vx = vxlan(vk) + bad
        good_gn = geneve(gk) + bad
        good_gr = gre(key=rk) + bad

        # outer IPv4 broken: the kernel drops these before any socket
        ip_ok = grp(good_gr)
        eth_hdr = self.b1_mac + self.my_mac + struct.pack('>H', ETH_P_IP)
        self.check_kernel('ipv4: header cut at 12 bytes', [
            (lambda: eth_hdr + ip_ok[:12])] * R, ['Ip.InHdrErrors'])
        self.check_kernel('ipv4: ihl 4', [grp(good_gr, ihl=4)] * R,
                          ['Ip.InHdrErrors'])
        self.check_kernel('ipv4: version 6 in an IPv4 frame',
                          [grp(good_gr, ver=6)] * R, ['Ip.InHdrErrors'])
        self.check_kernel('ipv4: bad header checksum',
                          [grp(good_gr, bad_csum=True)] * R, ['Ip.InHdrErrors'])
        self.check_kernel('ipv4: total length < ihl',
                          [grp(good_gr, tot_len=16)] * R, ['Ip.InHdrErrors'])
        self.check_kernel('ipv4: total length past the frame',
                          [grp(good_gr, tot_len=len(ip_ok) + 40)] * R,
                          ['IpExt.InTruncatedPkts'])
        bad_udp = bytearray(vxp(good_vx))
        bad_udp[26:28] = b'\x12\x34'       # UDP checksum, wrong
        self.check_kernel('udp: bad checksum (vxlan)', [bytes(bad_udp)] * R,
                          ['Udp.InCsumErrors'])

        # GRE (raw socket, outer IPv4 stripped by the daemon)
        self.check('gre: truncated base header (0-3 bytes)',
                   [grp(good_gr[:i]) for i in range(4)] * R, 'too_short', 'box-r')
        self.check('gre: K set, key cut (4-7 bytes)',
                   [grp(good_gr[:i]) for i in range(4, 8)] * R, 'too_short', 'box-r')
        cks = gre(key=rk, seq=1, csum=True, payload=bad)
        self.check('gre: C+K+S set, options cut (4-15 bytes)',
                   [grp(cks[:i]) for i in range(4, 16)] * R, 'too_short', 'box-r')
        self.check('gre: version 1 (PPTP)',
                   [grp(gre(key=rk, ver=1, proto=0x880b, payload=bad))] * R,
                   'bad_version', 'box-r')
        self.check('gre: version 7',
                   [grp(gre(key=rk, ver=7, payload=bad))] * R, 'bad_version', 'box-r')
        self.check('gre: routing present (R)',
                   [grp(gre(key=rk, flags=0x4000, payload=bad))] * R, 'bad_flags', 'box-r')
        self.check('gre: strict source route (s)',
                   [grp(gre(key=rk, flags=0x0800, payload=bad))] * R, 'bad_flags', 'box-r')
        self.check('gre: recursion bit 5',
                   [grp(gre(key=rk, flags=0x0400, payload=bad))] * R, 'bad_flags', 'box-r')
        self.check('gre: protocol IPv4, not TEB',
                   [grp(gre(key=rk, proto=0x0800, payload=bad))] * R, 'bad_protocol', 'box-r')
        self.check('gre: protocol ERSPAN',
                   [grp(gre(key=rk, proto=0x88be, payload=bad))] * R, 'bad_protocol', 'box-r')
        self.check('gre: no key', [grp(gre(payload=bad))] * R, 'wrong_key', 'box-r')
        self.check('gre: wrong key', [grp(gre(key=rk + 1, payload=bad))] * R,
                   'wrong_key', 'box-r')
        self.check('gre: bad checksum',
                   [grp(gre(key=rk, csum=True, payload=bad, bad_csum=True))] * R,
                   'bad_checksum', 'box-r')
        self.check('gre: inner frame 0-13 bytes',
                   [grp(gre(key=rk) + bad[:i]) for i in range(14)], 'runt_frame', 'box-r')
        self.check('gre: inner frame MTU+15 / tagged MTU+19',
                   [grp(gre(key=rk) + frame(L, b'\x02\xee\xff\0\0\2', 'big', fm - 3)),
                    grp(gre(key=rk) + frame(L, b'\x02\xee\xff\0\0\2', 'big', fm + 1, True))] * R,
                   'frame_too_big', 'box-r')
        self.check('gre: multicast source MAC',
                   [grp(gre(key=rk) + frame(L, b'\x01\x00\x5e\0\0\1', 'm'))] * R,
                   'bad_source_mac', 'box-r')
        self.check('gre: from no peer', [grp(good_gr, src=unknown)] * R, 'unknown_peer')
        self.check('gre: from the vxlan peer', [grp(good_gr, src=vx['remote'])] * R,
                   'wrong_encap', 'box-2')

        def big_gre():
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
            s.bind((gr['remote'], 0))
            s.setsockopt(socket.IPPROTO_IP, 10, 0)   # IP_PMTUDISC_DONT
            for size in (9400, 20000, 65000):
                s.sendto(gre(key=rk) + frame(L, b'\x02\xee\xff\0\0\3', 't', size),
                         (self.c['b1'], 0))
            s.close()
        self.check('gre: 9.4k/20k/65k datagram (MSG_TRUNC)', 3, 'frame_too_big',
                   'box-r', send=big_gre, uncharged=True)

        self.check('gre: C+K+S, good checksum',
                   [grp(gre(key=rk, seq=i, csum=True, payload=self.ok_frame('gre-cks')))
                    for i in range(R)], None)
        self.check('gre: reserved bits 6-12 set (ignored)',
                   [grp(gre(key=rk, flags=0x03f8, payload=self.ok_frame('gre-rsvd')))] * R,
                   None)
        self.check('gre: outer IPv4 with 40 bytes of options',
                   [grp(gre(key=rk, payload=self.ok_frame('gre-ipopt')),
                        opts=b'\x01' * 39 + b'\x00')] * R, None)
        self.check('gre: inner frame MTU+14 / tagged MTU+18',
                   [grp(gre(key=rk, payload=self.ok_frame('gre-max', fm - 4))),
                    grp(gre(key=rk, payload=self.ok_frame('gre-maxv', fm, True)))] * R,
                   None)

        # VXLAN
        self.check('vxlan: header cut (0-7 bytes)',
                   [vxp(good_vx[:i]) for i in range(8)] * R, 'too_short', 'box-2')
        self.check('vxlan: I flag clear',
                   [vxp(vxlan(vk, flags=0) + bad), vxp(vxlan(vk, flags=0xf7) + bad)] * R,
                   'bad_flags', 'box-2')
        self.check('vxlan: wrong VNI (124, 0, 0xffffff)',
                   [vxp(vxlan(v) + bad) for v in (vk + 1, 0, 0xffffff)] * R,
                   'wrong_key', 'box-2')
        self.check('vxlan: inner frame 0-13 bytes',
                   [vxp(vxlan(vk) + bad[:i]) for i in range(14)], 'runt_frame', 'box-2')
        self.check('vxlan: inner frame MTU+15 / tagged MTU+19 / 1458',
                   [vxp(vxlan(vk) + frame(L, b'\x02\xee\xff\0\0\2', 'big', fm - 3)),
                    vxp(vxlan(vk) + frame(L, b'\x02\xee\xff\0\0\2', 'big', fm + 1, True)),
                    vxp(vxlan(vk) + frame(L, b'\x02\xee\xff\0\0\2', 'big', 1458))] * R,
                   'frame_too_big', 'box-2')
        for nm, m in (('broadcast', b'\xff' * 6), ('multicast', b'\x33\x33\0\0\0\1'),
                      ('zero', bytes(6))):
            self.check('vxlan: %s source MAC' % nm,
                       [vxp(vxlan(vk) + frame(L, m, 's'))] * R, 'bad_source_mac', 'box-2')
        self.check('vxlan: from no peer', [vxp(good_vx, src=unknown)] * R, 'unknown_peer')
        self.check('vxlan: to the geneve port', [vxp(good_vx, port=6081)] * R,
                   'wrong_encap', 'box-2')
        self.check('vxlan: reserved fields and flags set (ignored)',
                   [vxp(vxlan(vk, flags=0xff, rsvd1=b'\xff\xff\xff', rsvd2=0xff) +
                        self.ok_frame('vx-rsvd'))] * R, None)
        self.check('vxlan: inner frame MTU+14 / tagged MTU+18',
                   [vxp(vxlan(vk) + self.ok_frame('vx-max', fm - 4)),
                    vxp(vxlan(vk) + self.ok_frame('vx-maxv', fm, True))] * R, None)

        # Geneve
        self.check('geneve: header cut (0-7 bytes)',
                   [gnp(good_gn[:i]) for i in range(8)] * R, 'too_short', 'box-g')
        self.check('geneve: option length past the packet',
                   [gnp(geneve(gk, optlen=63)), gnp(geneve(gk, optlen=1)),
                    gnp(geneve(gk, opts=gopt(1, 1, 2), optlen=4))] * R,
                   'too_short', 'box-g')
        self.check('geneve: option TLV past the option area',
                   [gnp(geneve(gk, opts=gopt(1, 1, 5)[:8]) + bad),
                    gnp(geneve(gk, opts=struct.pack('>HBB', 1, 1, 1)) + bad),
                    gnp(geneve(gk, opts=gopt(1, 1, 30) + gopt(1, 2, 31)[:120]) + bad)] * R,
                   'bad_options', 'box-g')
        self.check('geneve: version 1-3',
                   [gnp(geneve(gk, ver=v) + bad) for v in (1, 2, 3)] * R,
                   'bad_version', 'box-g')
        self.check('geneve: OAM', [gnp(geneve(gk, oam=True) + bad)] * R, 'oam_frame', 'box-g')
        self.check('geneve: protocol IPv4, not TEB',
                   [gnp(geneve(gk, proto=0x0800) + bad)] * R, 'bad_protocol', 'box-g')
        maxcrit = gopt(1, 1, 31) + gopt(1, 2, 29) + gopt(1, 0x80, 0)
        self.check('geneve: unknown critical option (C set, C clear, last of 252 bytes)',
                   [gnp(geneve(gk, opts=gopt(0x0102, 0x80, 1), crit_flag=True) + bad),
                    gnp(geneve(gk, opts=gopt(0x0102, 0xff, 1)) + bad),
                    gnp(geneve(gk, opts=maxcrit, crit_flag=True) + bad)] * R,
                   'unknown_critical_option', 'box-g')
        self.check('geneve: wrong VNI', [gnp(geneve(gk + 1) + bad)] * R, 'wrong_key', 'box-g')
        self.check('geneve: inner frame 0-13 bytes',
                   [gnp(geneve(gk) + bad[:i]) for i in range(14)], 'runt_frame', 'box-g')
        self.check('geneve: inner frame MTU+15 / tagged MTU+19',
                   [gnp(geneve(gk) + frame(L, b'\x02\xee\xff\0\0\2', 'big', fm - 3)),
                    gnp(geneve(gk) + frame(L, b'\x02\xee\xff\0\0\2', 'big', fm + 1, True))] * R,
                   'frame_too_big', 'box-g')
        self.check('geneve: zero source MAC',
                   [gnp(geneve(gk) + frame(L, bytes(6), 'z'))] * R, 'bad_source_mac', 'box-g')
        self.check('geneve: from no peer', [gnp(good_gn, src=unknown)] * R, 'unknown_peer')
        self.check('geneve: to the vxlan port', [gnp(good_gn, port=4789)] * R,
                   'wrong_encap', 'box-g')

        def big_udp():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((gn['remote'], 0))
            s.setsockopt(socket.IPPROTO_IP, 10, 0)   # IP_PMTUDISC_DONT
            for size in (9400, 20000, 65000):
                s.sendto(geneve(gk) + frame(L, b'\x02\xee\xff\0\0\3', 't', size),
                         (self.c['b1'], 6081))
            s.close()
        self.check('geneve: 9.4k/20k/65k datagram (MSG_TRUNC)', 3, 'frame_too_big',
                   'box-g', send=big_udp, uncharged=True)

        max_opts = gopt(0x0102, 1, 31) + gopt(0xffff, 0x7f, 30)
        assert len(max_opts) == 252
        self.check('geneve: 252 bytes of non-critical options',
                   [gnp(geneve(gk, opts=max_opts) + self.ok_frame('gn-maxopt'))] * R, None)
        self.check('geneve: 63 empty options, C flag set',
                   [gnp(geneve(gk, opts=gopt(7, 1, 0) * 63, crit_flag=True) +
                        self.ok_frame('gn-63opt'))] * R, None)
        self.check('geneve: inner frame MTU+14 / tagged MTU+18',
                   [gnp(geneve(gk) + self.ok_frame('gn-max', fm - 4)),
                    gnp(geneve(gk) + self.ok_frame('gn-maxv', fm, True))] * R, None)

        # Random bytes and mutations of valid packets; seeded, so every run
        # sends the same and the model predicts every reason.
        rnd = random.Random(self.c.get('seed', 4789))
        for enc, src, port, key, good in (
                ('vxlan', vx['remote'], 4789, vk, vxlan(vk)),
                ('geneve', gn['remote'], 6081, gk, geneve(gk)),
                ('gretap', gr['remote'], 47, rk, gre(key=rk))):
            def pkt(pl):
                if port == 47:
                    return grp(pl, src=src)
                return self.udp_to(src, port, pl)
            items = []
            for _ in range(200):
                pl = rnd.randbytes(rnd.randrange(0, 1400))
                items.append((pkt(pl), enc, pl, key))
            self.check_model('%s: 200 random payloads' % enc, items)
            items = []
            for i in range(200):
                pl = bytearray(good + frame(L, bytes([2, 0xed, 0, 0, i >> 8, i & 255]),
                                            'mut', rnd.randrange(14, 200)))
                for _ in range(rnd.randrange(1, 4)):
                    pl[rnd.randrange(0, min(len(pl), 40))] = rnd.randrange(256)
                pl = bytes(pl)
                items.append((pkt(pl), enc, pl, key))
            self.check_model('%s: 200 mutated valid packets' % enc, items)
        return not self.failures


def cmd_matrix(conf_path):
    conf = json.load(open(conf_path))
    m = Matrix(conf)
    ok = m.run()
    with open(conf['out'], 'w') as f:
        json.dump(m.rows, f)
    return 0 if ok else 1


# --- sniffer ---------------------------------------------------------------

def cmd_sniff(dev, legit, out):
    legit = mac_bytes(legit)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((dev, 0))
    s.settimeout(0.5)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    deadline = time.monotonic() + 600
    with open(out + '.tmp', 'w') as f:
        pass
    os.rename(out + '.tmp', out)
    with open(out, 'a', buffering=1) as f:
        while not stop and time.monotonic() < deadline:
            try:
                b, addr = s.recvfrom(65536)
            except socket.timeout:
                continue
            except InterruptedError:
                continue
            except OSError:
                break           # the TAP went away
            if addr[2] == PACKET_OUTGOING or b[6:12] == legit:
                continue
            f.write('%d %s %s %s\n' % (len(b), mac_str(b[6:12]), b[12:14].hex(),
                                       b[14:40].hex()))
    return 0


# --- MAC flood -------------------------------------------------------------

def tx_dropped(dev):
    """DEV's tx drops, from this namespace's /proc/net/dev."""
    with open('/proc/net/dev') as f:
        for line in f:
            name, _, rest = line.partition(':')
            if name.strip() == dev:
                return int(rest.split()[11])
    return 0


def cmd_flood(dev, dst, count, seconds, pps):
    """Writes up to count frames, each from a new source MAC, at up to pps
    a second; whenever DEV's queue overflows (its tx_dropped rises: the
    daemon reading the TAP fell behind) the rate backs off, so the flood
    measures the daemons, not the queue of the TAP it is written to."""
    count, seconds, pps = int(count), float(seconds), float(pps)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((dev, 0))
    own = s.getsockname()[4]
    f = bytearray(mac_bytes(dst) + own + struct.pack('>H', HOSTILE_TYPE) +
                  b'OVTHOSTILE flood'.ljust(46, b'\0'))
    sent = refused = backoffs = 0
    t0 = time.monotonic()
    end = t0 + seconds
    send = s.send
    K = 0x9E3779B97F           # odd: i -> i*K mod 2^40 is a bijection
    rate, drops0 = pps, tx_dropped(dev)
    drops = drops0
    next_t = t0
    for i in range(count):
        x = (i * K) & 0xffffffffff
        f[6] = 0x02            # locally administered unicast
        f[7:12] = x.to_bytes(5, 'big')
        try:
            send(f)
            sent += 1
        except OSError as e:
            if e.errno not in (errno.ENOBUFS, errno.EAGAIN):
                raise
            refused += 1
        if i % 64 == 63:
            now = time.monotonic()
            if now > end or stop:
                break
            d = tx_dropped(dev)
            if d != drops:
                drops = d
                rate = max(rate * 0.7, 2000.0)
                backoffs += 1
                next_t = now + 0.002
            else:
                rate = min(rate * 1.01, pps)
            next_t = max(next_t, now - 0.01) + 64 / rate
            if next_t > now:
                time.sleep(next_t - now)
    el = time.monotonic() - t0
    print(json.dumps(dict(sent=sent, refused=refused, seconds=round(el, 2),
                          pps=int(sent / el), tap_queue_drops=drops - drops0,
                          backoffs=backoffs)))
    return 0


def cmd_model():
    fm = 1418
    L = b'\x02\0\0\0\0\1'
    ok = frame(L, b'\x02\0\0\0\0\2', 't')
    assert classify('vxlan', vxlan(123) + ok, 123, fm) is None
    assert classify('vxlan', vxlan(123, flags=0) + ok, 123, fm) == 'bad_flags'
    assert classify('geneve', geneve(5, opts=gopt(1, 1, 31) + gopt(1, 1, 30)) + ok, 5, fm) is None
    assert classify('geneve', geneve(5, opts=gopt(1, 0x80, 0)) + ok, 5, fm) == 'unknown_critical_option'
    assert classify('gretap', gre(key=9, csum=True, seq=3, payload=ok), 9, fm) is None
    assert classify('gretap', gre(key=9, csum=True, payload=ok, bad_csum=True), 9, fm) == 'bad_checksum'
    assert classify('vxlan', vxlan(123) + frame(L, L, 't', fm - 4), 123, fm) is None
    assert classify('vxlan', vxlan(123) + frame(L, L, 't', fm - 3), 123, fm) == 'frame_too_big'
    assert classify('vxlan', vxlan(123) + frame(L, L, 't', fm, True), 123, fm) is None
    assert classify('vxlan', vxlan(123) + frame(L, L, 't', fm + 1, True), 123, fm) == 'frame_too_big'
    print('model ok')
    return 0


if __name__ == '__main__':
    a = sys.argv[1:]
    cmds = {'matrix': cmd_matrix, 'sniff': cmd_sniff, 'flood': cmd_flood,
            'model': cmd_model}
    if not a or a[0] not in cmds:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(cmds[a[0]](*a[1:]))
