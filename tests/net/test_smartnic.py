"""The TOE split between tenants by the hypervisor (manifests/smartnic.toml): host clients talk to
a tenant's echo service through its sessions, mapped into its stage 2, while another tenant's
DMA descriptor aimed outside its partition is refused by the SMMU and the tenant contained; and
a tenant reaching for a session page that is not its own is contained (attack_session.toml)."""

from __future__ import annotations

import random
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

from netrun import read_until, start

ROOT = Path(__file__).resolve().parents[2]


def test_two_clients_are_echoed_while_the_dma_attacker_is_contained(built):
    p, ports = start("run", str(built["smartnic"]))
    lines = read_until(p, "listening on TOE port 7001", "echo service on TOE port 7000")
    attacker = socket.create_connection(("127.0.0.1", ports[7001]), timeout=30)
    attacker.sendall(b"A" * 300)
    rng = random.Random(99)
    payloads = [rng.randbytes(rng.randint(1, 150_000)) for _ in range(2)]
    echoed: list = [None, None]

    def client(i):
        with socket.create_connection(("127.0.0.1", ports[7000]), timeout=30) as c:
            c.sendall(payloads[i])
            c.shutdown(socket.SHUT_WR)
            back = b""
            while chunk := c.recv(65536):
                back += chunk
        echoed[i] = back

    threads = [threading.Thread(target=client, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    out, err = p.communicate(timeout=120)
    text = "".join(lines) + out.decode()
    assert echoed == payloads                                   # every byte of both, in order
    assert p.returncode == 1, err.decode()
    assert f"[echo] echoed {sum(map(len, payloads))} bytes, 2 clients served" in text
    assert re.search(r"hyp: tenant 1 \(attacker\): DMA refused by the SMMU \(stream 2, event 0x10\) at IPA 0x41000000: "
                     r"stopped", text)
    assert "hyp: all tenants stopped, 1 contained" in text
    attacker.settimeout(30)
    assert attacker.recv(16) == b""                            # its sessions were taken back: closed
    attacker.close()


def test_a_tenant_touching_another_session_page_or_the_smmu_is_contained(built):
    p = subprocess.run([sys.executable, "-m", "emu", "run", str(built["attack_session"]), "--board",
                        "virt,iommu=smmuv3,toe=on"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 2
    assert re.search(r"hyp: tenant 1 \(attacker\): stage-2 violation at IPA 0xb002010 ", p.stdout)
    assert re.search(r"hyp: tenant 2 \(smmu\): stage-2 violation at IPA 0x9050020 ", p.stdout)
    assert "NOT CONTAINED" not in p.stdout and "[counter] done" in p.stdout


def test_a_reused_session_gives_nothing_back_and_a_huge_length_is_contained(built):
    p, ports = start("run", str(built["attack_lengths"]))
    lines = read_until(p, "listening on TOE port 7001", "echo service on TOE port 7000")
    first = socket.create_connection(("127.0.0.1", ports[7001]), timeout=30)
    first.sendall(b"the first connection's secret")
    first.settimeout(30)
    assert first.recv(64) == b""                          # closed by the tenant: nothing else
    second = socket.create_connection(("127.0.0.1", ports[7001]), timeout=30)
    second.sendall(b"go")
    second.settimeout(30)
    got = b""
    while chunk := second.recv(65536):
        got += chunk
    assert got == b""                                      # not one byte of the refused read
    payloads = [b"a" * 70_000, b"b" * 3]
    echoed = [None, None]

    def client(i):
        echoed[i] = echo_round(ports[7000], payloads[i])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    out, err = p.communicate(timeout=120)
    text = "".join(lines) + out.decode()
    assert echoed == payloads and p.returncode == 1, err.decode()
    assert "[attacker] closed a session and read it again: 0 bytes, error 1" in text
    assert "hyp: tenant 1 (attacker): DMA refused by the SMMU (stream 2, event 0x10) at IPA 0x40200000: stopped" in text
    first.close()
    second.close()


def echo_round(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        back = b""
        while chunk := c.recv(65536):
            back += chunk
    return back


def test_a_session_interrupt_reaches_its_owner(built):
    # The tenant's first session is the TOE's session 1 (the counter has 0): INTID 81 is its own.
    p, ports = start("run", str(built["net_irq"]))
    lines = read_until(p, "waiting for INTID")
    assert "[irq] listening on TOE port 7000, waiting for INTID 81\n" in lines
    c = socket.create_connection(("127.0.0.1", ports[7000]), timeout=30)
    out, err = p.communicate(timeout=120)
    c.close()
    text = "".join(lines) + out.decode()
    assert p.returncode == 0, err.decode()
    assert "[irq] took INTID 81: session 1 accepted a connection" in text
    assert "irqs 81 82 toe sessions 1-2" in text
