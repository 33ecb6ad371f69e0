#!/usr/bin/python3
"""Raw control-socket clients for tests/netns/ctl-abuse.sh. Each command
prints one JSON object with what it saw; the shell script asserts. The
protocol (src/ctl-proto.h), host byte order:
  request  {u32 magic 0x4f565443, u16 version 1, u16 command, u32 flags,
            u32 arg_len} + arg_len bytes (at most 4096 in all)
  response {u32 magic, u16 version, u16 status, u32 len, u32 reserved}
            + len bytes
Every socket has a timeout and every loop a bound.

  req SOCK MAGIC VERSION COMMAND FLAGS ARG_LEN [SENT_ARG_BYTES]
  partial SOCK NBYTES          NBYTES of a valid header, then close
  idle SOCK [NBYTES]           connects, sends NBYTES (default 0) of a
                               header, and times how long until the daemon
                               closes the connection
  cut SOCK COMMAND NREAD REPS  requests (JSON), reads NREAD bytes, closes
  stall SOCK COMMAND WAIT      requests (JSON), reads nothing for WAIT s,
                               then drains: did the daemon give up?
  concurrent SOCK N COMMAND    N clients at once, each one request
  hold SOCK N SECONDS PID OVTUNCTL
                               N idle connections: how many the daemon
                               keeps, whether ovtunctl show answers while
                               they are held and after they time out,
                               the daemon's RSS meanwhile
  slow SOCK INTERVAL           the header one byte every INTERVAL s
  pipeline SOCK                two requests in one write
  halfclose SOCK               a request, then shutdown(SHUT_WR)
  slowfdb SOCK N PID WAIT      N clients request the fdb as JSON and read
                               nothing for WAIT s: the daemon's RSS
"""
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

MAGIC = 0x4f565443
REQ = struct.Struct('=IHHII')
RSP = struct.Struct('=IHHII')
CMD = {'peers': 1, 'fdb': 2, 'stats': 3, 'show': 4, 'reload': 5, 'sa': 6}
JSON_FLAG = 1


def connect(path, timeout=10.0):
    """A unix socket with a timeout connects without blocking: a full
    accept queue answers EAGAIN at once, so wait for room, bounded."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def header(command, magic=MAGIC, version=1, flags=JSON_FLAG, arg_len=0):
    return REQ.pack(magic, version, command, flags, arg_len)


def recv_exact(s, n):
    b = b''
    while len(b) < n:
        try:
            c = s.recv(n - len(b))
        except (ConnectionResetError, BrokenPipeError):
            break
        if not c:
            break
        b += c
    return b


def read_reply(s):
    """(status, body, complete) or (None, b'', False) without a header."""
    h = recv_exact(s, RSP.size)
    if len(h) < RSP.size:
        return None, b'', False
    magic, ver, status, length, _ = RSP.unpack(h)
    if magic != MAGIC or ver != 1:
        return 'bad', h, False
    body = recv_exact(s, length)
    return status, body, len(body) == length


def closed_within(s, timeout):
    """Seconds until the peer closes (EOF or reset), or None after
    timeout; data received meanwhile is discarded."""
    t0 = time.monotonic()
    end = t0 + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            b = s.recv(65536)
        except socket.timeout:
            return None
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0
        if not b:
            return time.monotonic() - t0


def rss_kb(pid):
    with open('/proc/%s/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return -1


def out(**kw):
    print(json.dumps(kw), flush=True)
    return 0


def cmd_req(path, magic, version, command, flags, arg_len, sent=None):
    magic, version, command, flags, arg_len = (int(x, 0) for x in
                                               (magic, version, command, flags, arg_len))
    sent = arg_len if sent is None else int(sent)
    s = connect(path)
    s.sendall(REQ.pack(magic, version, command, flags, arg_len) + b'a' * sent)
    t0 = time.monotonic()
    status, body, complete = read_reply(s)
    closed = closed_within(s, 2.0)
    return out(status=status, body=body.decode(errors='replace'),
               complete=complete, closed=closed is not None,
               t=round(time.monotonic() - t0, 3))


def cmd_partial(path, n):
    s = connect(path)
    s.sendall(header(CMD['stats'])[:int(n)])
    s.close()
    return out(sent=int(n))


def cmd_idle(path, n='0'):
    s = connect(path)
    if int(n):
        s.sendall(header(CMD['stats'])[:int(n)])
    t = closed_within(s, 12.0)
    return out(closed_after=None if t is None else round(t, 2))


def cmd_cut(path, command, nread, reps):
    done = 0
    first = None
    for _ in range(int(reps)):
        s = connect(path)
        s.sendall(header(CMD[command]))
        b = recv_exact(s, RSP.size + int(nread))
        if first is None and len(b) >= RSP.size:
            first = RSP.unpack(b[:RSP.size])[3]
        # An RST, not a FIN, where the reply is still pending.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        s.close()
        done += 1
    return out(done=done, reply_len=first)


def cmd_stall(path, command, wait):
    s = connect(path)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(header(CMD[command]))
    time.sleep(float(wait))
    t0 = time.monotonic()
    status, body, complete = read_reply(s)
    return out(status=status, got=len(body), complete=complete,
               drain_s=round(time.monotonic() - t0, 2))


def cmd_concurrent(path, n, command):
    n = int(n)
    res = [None] * n
    go = threading.Event()

    def one(i):
        try:
            s = connect(path, 20.0)
            go.wait(10)
            t0 = time.monotonic()
            s.sendall(header(CMD[command]))
            status, body, complete = read_reply(s)
            ok = status == 0 and complete
            if ok and command != 'fdb':
                json.loads(body)
            res[i] = (ok, time.monotonic() - t0)
            s.close()
        except Exception as e:          # noqa: BLE001 - reported below
            res[i] = (False, repr(e))

    th = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in th:
        t.start()
    time.sleep(0.3)
    go.set()
    for t in th:
        t.join(30)
    oks = [r for r in res if r and r[0]]
    errs = [r[1] for r in res if not r or not r[0]]
    return out(n=n, answered=len(oks),
               max_latency_s=round(max([r[1] for r in oks] or [0]), 3),
               errors=errs[:5])


def ovtunctl_show(ovtunctl, path):
    t0 = time.monotonic()
    p = subprocess.run([ovtunctl, '-s', path, 'show'], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=15)
    return p.returncode, round(time.monotonic() - t0, 2), p.stderr.decode().strip()


def cmd_hold(path, n, seconds, pid, ovtunctl):
    n, seconds = int(n), float(seconds)
    rss0 = rss_kb(pid)
    socks = []
    t0 = time.monotonic()
    for _ in range(n):
        socks.append(connect(path, 5.0))
    t_open = time.monotonic() - t0
    # The daemon refuses the ones above its limit at once.
    time.sleep(0.5)
    refused = kept = 0
    alive = []
    for s in socks:
        s.setblocking(False)
        try:
            b = s.recv(1)
            refused += 1            # EOF
            s.close()
        except BlockingIOError:
            kept += 1
            alive.append(s)
        except (ConnectionResetError, BrokenPipeError):
            refused += 1
            s.close()
    rss_held = rss_kb(pid)
    show_held = ovtunctl_show(ovtunctl, path)
    # Now wait for the daemon to time the held ones out.
    closed_at = []
    end = t0 + seconds
    while alive and time.monotonic() < end:
        for s in list(alive):
            try:
                b = s.recv(1)
                if b:
                    continue
            except BlockingIOError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                pass
            closed_at.append(time.monotonic() - t0)
            alive.remove(s)
            s.close()
        time.sleep(0.05)
    for s in alive:
        s.close()
    show_after = ovtunctl_show(ovtunctl, path)
    return out(n=n, open_s=round(t_open, 2), kept=kept, refused=refused,
               still_open_at_end=len(alive),
               closed_first_s=round(min(closed_at), 2) if closed_at else None,
               closed_last_s=round(max(closed_at), 2) if closed_at else None,
               rss0_kb=rss0, rss_held_kb=rss_held, rss_after_kb=rss_kb(pid),
               show_held=show_held, show_after=show_after)


def cmd_slow(path, interval):
    interval = float(interval)
    s = connect(path)
    h = header(CMD['show'])
    t0 = time.monotonic()
    sent = 0
    try:
        for i in range(len(h)):
            s.sendall(h[i:i + 1])
            sent += 1
            if i + 1 < len(h):
                time.sleep(interval)
    except (BrokenPipeError, ConnectionResetError):
        pass
    status, body, complete = read_reply(s)
    return out(sent=sent, status=status, complete=complete,
               seconds=round(time.monotonic() - t0, 2))


def cmd_pipeline(path):
    s = connect(path, 3.0)
    s.sendall(header(CMD['show']) + header(CMD['stats']))
    replies = 0
    while replies < 3:
        status, body, complete = read_reply(s)
        if status is None:
            break
        replies += 1
    return out(replies=replies)


def cmd_halfclose(path):
    s = connect(path, 5.0)
    s.sendall(header(CMD['stats']))
    s.shutdown(socket.SHUT_WR)
    status, body, complete = read_reply(s)
    return out(status=status, complete=complete)


def cmd_slowfdb(path, n, pid, wait):
    n, wait = int(n), float(wait)
    rss0 = rss_kb(pid)
    socks = []
    for _ in range(n):
        s = connect(path, 5.0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(header(CMD['fdb']))
        socks.append(s)
    peak = rss0
    t0 = time.monotonic()
    while time.monotonic() - t0 < wait:
        peak = max(peak, rss_kb(pid))
        time.sleep(0.1)
    rss_wait = rss_kb(pid)
    given_up = 0
    for s in socks:
        status, body, complete = read_reply(s)
        given_up += not complete
        s.close()
    time.sleep(0.5)
    return out(n=n, rss0_kb=rss0, rss_peak_kb=peak, rss_end_kb=rss_wait,
               rss_after_kb=rss_kb(pid), given_up=given_up)


if __name__ == '__main__':
    cmds = {k[4:]: v for k, v in globals().items() if k.startswith('cmd_')}
    a = sys.argv[1:]
    if not a or a[0] not in cmds:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(cmds[a[0]](*a[1:]))
