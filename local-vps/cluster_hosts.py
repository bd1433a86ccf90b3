#!/usr/bin/python3
"""The hosts of the local cluster, as its inventory (a YAML hosts file) names them, for
local-vps/cluster.sh: one line per host of the group `tdc`, in the file's order,

  NAME NET PRIVATE_ADDRESS GROUPS

NET is the host's link-local /30 to this machine (its `local_vps_net`), GROUPS the
groups it is in (comma-separated, `tdc` left out), the edge's line first. Literal values
only: the script boots what it reads, before Ansible has templated anything.

  cluster_hosts.py INVENTORY_HOSTS_YML

Runs on Debian's python3-yaml.
"""

import ipaddress
import sys
from pathlib import Path

import yaml

# Groups every host is in: they say nothing about its place.
IMPLIED_GROUPS = {"all", "tdc", "ungrouped"}


def walk(name: str, group: dict, parents: tuple[str, ...], found: dict[str, dict]) -> None:
    """Note in FOUND each host under GROUP, its variables and every group above it."""
    group = group or {}
    for host, variables in (group.get("hosts") or {}).items():
        entry = found.setdefault(host, {"vars": {}, "groups": []})
        entry["vars"].update(variables or {})
        for g in (*parents, name):
            if g not in entry["groups"]:
                entry["groups"].append(g)
    for child, subgroup in (group.get("children") or {}).items():
        walk(child, subgroup, (*parents, name), found)


def cluster_hosts(path: Path) -> list[tuple[str, str, str, list[str]]]:
    found: dict[str, dict] = {}
    walk("all", yaml.safe_load(path.read_text()).get("all"), (), found)
    rows = []
    for host, entry in found.items():
        if "tdc" not in entry["groups"]:
            continue
        net, private = (str(entry["vars"].get(v, "")) for v in ("local_vps_net", "private_address"))
        try:
            ipaddress.IPv4Address(f"{net}.2")
            ipaddress.IPv4Address(private)
        except ValueError:
            sys.exit(f"{path}: host {host} needs a literal local_vps_net (three octets, e.g. "
                     f"169.254.81) and private_address (an IPv4 address); it has {net!r} and {private!r}")
        groups = [g for g in entry["groups"] if g not in IMPLIED_GROUPS]
        rows.append((host, net, private, groups))
    # The edge first: its link carries the surroundings and its address is the site's.
    rows.sort(key=lambda row: "edge" not in row[3])
    if not rows or "edge" not in rows[0][3]:
        sys.exit(f"{path}: no host of the group tdc is in the group edge")
    return rows


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} INVENTORY_HOSTS_YML")
    for host, net, private, groups in cluster_hosts(Path(sys.argv[1])):
        print(host, net, private, ",".join(groups))


if __name__ == "__main__":
    main()
