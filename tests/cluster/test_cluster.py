"""The local cluster boots: every host answers SSH as itself and reaches every other on
the private network, at the private address the inventory gives it."""


def test_every_host_answers_ssh_as_itself(cluster):
    assert len(cluster.hosts) >= 4
    for host in cluster.hosts:
        assert host.vps.run("hostname").strip() == host.name
        state = host.vps.run("systemctl is-system-running", check=False).strip()
        assert state in ("running", "degraded"), f"{host.name}: systemd is {state}"


def test_each_host_has_its_private_address_on_the_private_network(cluster):
    for host in cluster.hosts:
        addresses = host.vps.run("ip -4 -o addr show dev eth1 | awk '{print $4}'").split()
        assert addresses == [f"{host.private_address}/24"], host.name


def test_every_host_reaches_every_other_on_its_private_address(cluster):
    unreached = {}
    for host in cluster.hosts:
        others = [other for other in cluster.hosts if other is not host]
        # SSH's port, open on every host, through eth1: the private /24 is on no other link.
        probe = " ; ".join(
            f"ip route get {other.private_address} | grep -q 'dev eth1' && "
            f"timeout 3 bash -c '</dev/tcp/{other.private_address}/22' && echo {other.name}"
            for other in others)
        reached = host.vps.run(probe, check=False).split()
        missing = [other.name for other in others if other.name not in reached]
        if missing:
            unreached[host.name] = missing
    assert not unreached, f"hosts that did not reach others on the private network: {unreached}"
