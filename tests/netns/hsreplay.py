#!/usr/bin/python3
"""Replays of recorded key exchange messages, for tests/netns/handshake-
attacks.sh, with nothing beyond the Python standard library.

  hsreplay.py extract PCAP        prints one JSON object per distinct UDP
                                  4797 message in the capture (a classic
                                  pcap, Ethernet or Linux cooked link):
                                  src, dst, type (first 32-bit word), hex
  hsreplay.py send SRC DST HEX COUNT PPS
                                  sends the message COUNT times from
                                  SRC:4797 to DST:4797 (any SRC: a raw
                                  socket writes the IPv4 header), at most
                                  PPS a second and for at most 60 s;
                                  prints what it sent and over how long
Every loop is bounded by a count and every wait by a deadline.
"""
import json
import socket
import struct
import sys
import time

PORT = 4797


def csum16(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('>%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def datagram(src, dst, payload):
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    ulen = 8 + len(payload)
    pseudo = s + d + struct.pack('>BBH', 0, 17, ulen)
    udp = struct.pack('>HHHH', PORT, PORT, ulen, 0) + payload
    c = 0xffff - csum16(pseudo + udp)
    udp = udp[:6] + struct.pack('>H', c or 0xffff) + udp[8:]
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + ulen, 0x4242, 0x4000,
                     64, 17, 0, s, d)
    ip = ip[:10] + struct.pack('>H', 0xffff - csum16(ip)) + ip[12:]
    return ip + udp


def packets(path):
    with open(path, 'rb') as f:
        data = f.read()
    magic = struct.unpack('<I', data[:4])[0]
    end = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    link = struct.unpack(end + 'I', data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + 'I', data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if link == 1:           # Ethernet
            proto, ip = struct.unpack('>H', pkt[12:14])[0], pkt[14:]
        elif link == 113:       # Linux cooked
            proto, ip = struct.unpack('>H', pkt[14:16])[0], pkt[16:]
        else:
            continue
        if proto != 0x0800 or len(ip) < 28 or ip[9] != 17:
            continue
        hl = (ip[0] & 15) * 4
        sport, dport = struct.unpack('>HH', ip[hl:hl + 4])
        if sport != PORT or dport != PORT:
            continue
        yield (socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]),
               ip[hl + 8:])


def cmd_extract(path):
    seen = set()
    for src, dst, payload in packets(path):
        if payload in seen or len(payload) < 4:
            continue
        seen.add(payload)
        print(json.dumps({'src': src, 'dst': dst,
                          'type': struct.unpack('>I', payload[:4])[0],
                          'hex': payload.hex()}))


def cmd_send(src, dst, hexmsg, count, pps):
    pkt = datagram(src, dst, bytes.fromhex(hexmsg))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    start = time.monotonic()
    sent = 0
    for i in range(int(count)):
        due = start + i / float(pps)
        now = time.monotonic()
        if now - start > 60:
            break
        if due > now:
            time.sleep(due - now)
        s.sendto(pkt, (dst, 0))
        sent += 1
    print(json.dumps({'sent': sent,
                      'seconds': round(time.monotonic() - start, 3)}))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == 'extract':
        cmd_extract(sys.argv[2])
    elif len(sys.argv) == 7 and sys.argv[1] == 'send':
        cmd_send(*sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
