#!/usr/bin/python
# -*- coding: utf-8 -*-
"""tdc_host_state: read, in one module run, what a role would otherwise check with one
module run per file, package, unit or account.

Every Ansible module run costs ~0.3-0.5 s of interpreter start and imports on the host,
whatever it does: a role of 25 file, apt and systemd tasks spends ~10 s finding that
nothing needs doing. A role calls this once, then runs each of its usual tasks only when
this says the host differs from what the task would make it. A task that runs because of
a false difference changes nothing (the usual module decides); the checks here are as
strict as the modules' own, so no needed change is skipped.
"""

DOCUMENTATION = r"""
---
module: tdc_host_state
short_description: Compare files, packages, units and accounts with a desired state in one run
description:
  - Reports which of the given paths differ from their desired state (content checksum,
    type, owner, group, mode, link target), which Debian packages are not installed, the
    enablement and activity of systemd units, whether system accounts match, and the text
    of small files. Changes nothing.
options:
  files:
    description:
      - Regular files, in groups sharing C(owner), C(group) and C(mode) (octal string).
        C(checksums) maps each path to the sha1 of its desired content (null accepts any
        content).
    type: list
    elements: dict
    default: []
  directories:
    description: Directories, in groups of C(paths) sharing C(owner), C(group) and C(mode).
    type: list
    elements: dict
    default: []
  links:
    description: Symbolic links, in groups sharing C(owner) and C(group); C(links) maps each path to its target.
    type: list
    elements: dict
    default: []
  absent:
    description: Paths that must not exist.
    type: list
    elements: str
    default: []
  exists:
    description: Paths that must exist, whatever they are (a dangling link counts).
    type: list
    elements: str
    default: []
  packages:
    description: Debian package names that must be installed.
    type: list
    elements: str
    default: []
  units:
    description: systemd units whose UnitFileState and ActiveState are reported.
    type: list
    elements: str
    default: []
  groups:
    description: Group names that must exist.
    type: list
    elements: str
    default: []
  users:
    description: Accounts that must exist; each item has C(name), and optionally C(group), C(home), C(shell).
    type: list
    elements: dict
    default: []
  read:
    description:
      - Paths (or glob patterns) of small text files whose content is returned (null when
        missing).
    type: list
    elements: str
    default: []
  glob:
    description: Glob patterns whose sorted matches are returned (a trailing / matches directories only).
    type: list
    elements: str
    default: []
author: The Dreamer's Cave
"""

RETURN = r"""
differ:
  description: Paths, C(group:NAME) and C(user:NAME) that differ from their desired state.
  type: list
  returned: always
missing_packages:
  description: Packages of C(packages) that are not installed.
  type: list
  returned: always
units:
  description: For each unit, C(enabled) (UnitFileState) and C(active) (ActiveState).
  type: dict
  returned: always
units_not_enabled:
  description: Units of C(units) whose UnitFileState is not C(enabled).
  type: list
  returned: always
units_not_active:
  description: Units of C(units) whose ActiveState is not C(active).
  type: list
  returned: always
contents:
  description: Path -> text of each C(read) path (each match of a pattern), null when it cannot be read.
  type: dict
  returned: always
globbed:
  description: Pattern -> sorted list of the paths it matches, for each C(glob) pattern.
  type: dict
  returned: always
"""

import glob
import grp
import hashlib
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule


def _name_of(lookup, ident):
    """The account name of a uid or gid (pwd.getpwuid/grp.getgrgid), None when unknown."""
    try:
        return lookup(ident)[0]
    except KeyError:
        return None


def _owner_group_mode_differ(st, want):
    if want.get("owner") is not None and _name_of(pwd.getpwuid, st.st_uid) != want["owner"]:
        return True
    if want.get("group") is not None and _name_of(grp.getgrgid, st.st_gid) != want["group"]:
        return True
    if want.get("mode") is not None and not stat.S_ISLNK(st.st_mode):
        if stat.S_IMODE(st.st_mode) != int(str(want["mode"]), 8):
            return True
    return False


def _sha1(path):
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(65536), b""):
            digest.update(block)
    return digest.hexdigest()


def path_differs(path, state, want):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return state != "absent"
    if state == "absent":
        return True
    if state == "exists":
        return False
    if state == "link":
        return (not stat.S_ISLNK(st.st_mode) or os.readlink(path) != want["src"]
                or _owner_group_mode_differ(st, want))
    if state == "directory":
        return not stat.S_ISDIR(st.st_mode) or _owner_group_mode_differ(st, want)
    # A regular file: a link in its place differs (the modules would replace it).
    if not stat.S_ISREG(st.st_mode) or _owner_group_mode_differ(st, want):
        return True
    return want.get("checksum") is not None and _sha1(path) != want["checksum"]


def differing_paths(params):
    differ = []
    for group in params["files"]:
        for path, checksum in (group.get("checksums") or {}).items():
            if path_differs(path, "file", dict(group, checksum=checksum)):
                differ.append(path)
    for group in params["directories"]:
        differ += [path for path in group.get("paths") or [] if path_differs(path, "directory", group)]
    for group in params["links"]:
        for path, src in (group.get("links") or {}).items():
            if path_differs(path, "link", dict(group, src=src, mode=None)):
                differ.append(path)
    differ += [path for path in params["absent"] if path_differs(path, "absent", {})]
    differ += [path for path in params["exists"] if path_differs(path, "exists", {})]
    return differ


def missing_packages(module, names):
    if not names:
        return []
    # Unknown packages make dpkg-query exit 1 but it still prints the known ones.
    _rc, out, _err = module.run_command(
        ["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Abbrev}\n", *names],
        environ_update={"LC_ALL": "C"})
    installed = set()
    for line in out.splitlines():
        name, _, status = line.partition("\t")
        if status.startswith("ii"):
            installed.add(name.split(":")[0])
    return [name for name in names if name not in installed]


def unit_states(module, names):
    if not names:
        return {}
    rc, out, err = module.run_command(
        ["systemctl", "show", "--property=Id,UnitFileState,ActiveState", "--", *names],
        environ_update={"LC_ALL": "C", "SYSTEMD_PAGER": ""})
    if rc != 0:
        module.fail_json(msg="systemctl show failed: %s" % err.strip())
    blocks = [dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
              for block in out.strip().split("\n\n")]
    if len(blocks) != len(names):
        module.fail_json(msg="systemctl show returned %d units for %d" % (len(blocks), len(names)))
    return {name: {"enabled": block.get("UnitFileState", ""), "active": block.get("ActiveState", "")}
            for name, block in zip(names, blocks)}


def account_differs(want):
    try:
        entry = pwd.getpwnam(want["name"])
    except KeyError:
        return True
    if want.get("home") is not None and entry.pw_dir != want["home"]:
        return True
    if want.get("shell") is not None and entry.pw_shell != want["shell"]:
        return True
    return want.get("group") is not None and _name_of(grp.getgrgid, entry.pw_gid) != want["group"]


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(65536)
    except OSError:
        return None


def main():
    module = AnsibleModule(
        argument_spec={
            "files": {"type": "list", "elements": "dict", "default": []},
            "directories": {"type": "list", "elements": "dict", "default": []},
            "links": {"type": "list", "elements": "dict", "default": []},
            "absent": {"type": "list", "elements": "str", "default": []},
            "exists": {"type": "list", "elements": "str", "default": []},
            "packages": {"type": "list", "elements": "str", "default": []},
            "units": {"type": "list", "elements": "str", "default": []},
            "groups": {"type": "list", "elements": "str", "default": []},
            "users": {"type": "list", "elements": "dict", "default": []},
            "read": {"type": "list", "elements": "str", "default": []},
            "glob": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    params = module.params
    # A path that is not absolute (an untemplated "{{ var }}" key, say) would never match
    # the path a task checks: that task would be skipped whatever the host holds.
    named = [path for group in params["files"] for path in (group.get("checksums") or {})]
    named += [path for group in params["directories"] for path in group.get("paths") or []]
    named += [path for group in params["links"] for path in (group.get("links") or {})]
    named += params["absent"] + params["exists"]
    relative = [path for path in named if not str(path).startswith("/")]
    if relative:
        module.fail_json(msg="paths must be absolute: %s" % ", ".join(map(str, relative)))
    differ = differing_paths(params)
    for name in params["groups"]:
        try:
            grp.getgrnam(name)
        except KeyError:
            differ.append("group:" + name)
    differ += ["user:" + want["name"] for want in params["users"] if account_differs(want)]
    units = unit_states(module, params["units"])
    module.exit_json(
        changed=False,
        differ=differ,
        missing_packages=missing_packages(module, params["packages"]),
        units=units,
        units_not_enabled=[name for name, state in units.items() if state["enabled"] != "enabled"],
        units_not_active=[name for name, state in units.items() if state["active"] != "active"],
        contents={path: read_text(path) for pattern in params["read"]
                  for path in (sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern])},
        globbed={pattern: sorted(glob.glob(pattern)) for pattern in params["glob"]},
    )


if __name__ == "__main__":
    main()
