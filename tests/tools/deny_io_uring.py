#!/usr/bin/env python3
"""Run a command with io_uring_setup(2) refused by a seccomp filter, the way
a container runtime's default profile or systemd's SystemCallFilter does.

usage: deny_io_uring.py EPERM|ENOSYS COMMAND [ARGS...]

Only the standard library (ctypes) is used, so tests need no extra package.
x86_64 and aarch64 only; other architectures exit 77 (skip).
"""
import ctypes
import errno
import os
import platform
import struct
import sys

IO_URING_SETUP = 425  # same number on x86_64 and aarch64
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_RET_K = 0x06


def insn(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("EPERM", "ENOSYS"):
        sys.exit(__doc__)
    arch = AUDIT_ARCH.get(platform.machine())
    if arch is None:
        sys.exit(77)
    err = getattr(errno, sys.argv[1])
    prog = b"".join([
        insn(BPF_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        insn(BPF_JEQ_K, 1, 0, arch),
        insn(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
        insn(BPF_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
        insn(BPF_JEQ_K, 0, 1, IO_URING_SETUP),
        insn(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | err),
        insn(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
    ])
    buf = ctypes.create_string_buffer(prog)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(prog) // 8, ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        sys.exit("prctl(NO_NEW_PRIVS) failed: %s" % os.strerror(ctypes.get_errno()))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        sys.exit("prctl(SECCOMP) failed: %s" % os.strerror(ctypes.get_errno()))
    os.execv(sys.argv[2], sys.argv[2:])


if __name__ == "__main__":
    main()
