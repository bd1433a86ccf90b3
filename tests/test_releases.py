"""Releases under load: a normal one loses no request, a broken one is rolled back
automatically while the old release keeps answering, and `make rollback` goes back one."""

import os
import subprocess

import pytest
from ops import REPO, Traffic, output, playbook, role_defaults

pytestmark = pytest.mark.disruptive

READINESS = "backend/app/services/readiness.py"
REQUIREMENTS = "backend/requirements.txt"
# A small pure-Python package the backend does not use (only its presence is checked),
# with the hash of its one wheel on PyPI: the lock admits no requirement without one.
EXTRA_REQUIREMENT = ("iniconfig==2.1.0 "
                     "--hash=sha256:9deba5723312380e77435581c6bf4935c94cbfab9b1ed33ef8d238ea168eb760")
KEEP_RELEASES = role_defaults("app")["app_keep_releases"]


def current_release(vps) -> str:
    return vps.run("readlink /srv/tdc/current").strip()


def workers_on(vps, release: str) -> bool:
    """Every gunicorn worker maps its venv's C extensions from RELEASE."""
    script = ("main=$(systemctl show -p MainPID --value tdc-gunicorn); "
              f"for w in $(pgrep -P $main); do grep -q ' {release}/venv/' /proc/$w/maps "
              "|| echo old $w; done; pgrep -c -P $main")
    lines = vps.run(script).split()
    return "old" not in lines and int(lines[-1]) > 0


def git(*args: str, **kwargs) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                          check=True, **kwargs).stdout.strip()


def commit_with(path: str, text: str, message: str) -> str:
    """A commit object (on no branch) of HEAD with PATH holding TEXT."""
    blob = git("hash-object", "-w", "--stdin", input=text)
    index = REPO / ".build" / "test-release.index"
    index.parent.mkdir(exist_ok=True)
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    subprocess.run(["git", "-C", str(REPO), "read-tree", "HEAD"], env=env, check=True)
    subprocess.run(["git", "-C", str(REPO), "update-index", "--cacheinfo",
                    f"100644,{blob},{path}"], env=env, check=True)
    tree = subprocess.run(["git", "-C", str(REPO), "write-tree"], env=env, check=True,
                          capture_output=True, text=True).stdout.strip()
    index.unlink()
    return git("commit-tree", tree, "-p", "HEAD", "-m", message)


def broken_commit() -> str:
    """HEAD with a readiness check that always fails: what a release with a bad
    dependency or setting looks like from outside."""
    source = git("show", f"HEAD:{READINESS}")
    check = "def _check_database() -> None:\n"
    broken = source.replace(check, check + '    raise RuntimeError("this release is broken on purpose")\n')
    assert broken != source, "the readiness check changed: update this test's patch"
    return commit_with(READINESS, broken, "A release whose readiness fails")


def releases(vps) -> list[str]:
    return sorted(vps.run("ls -d /srv/tdc/releases/*/ | sed 's:/$::'").split())


def test_a_release_under_load_loses_no_request_and_prunes_the_oldest(site, vps, token):
    # Releases older than any real one (names start with their time), enough that the
    # new release brings the count past app_keep_releases whatever was there.
    planted = [f"/srv/tdc/releases/2000010100000{n}-0000000" for n in range(KEEP_RELEASES)]
    vps.run(f"mkdir -p {' '.join(planted)} && chown tdc:tdc {' '.join(planted)}")
    present = releases(vps)
    before = current_release(vps)
    with Traffic(vps, token) as traffic:
        run = playbook("deploy")
    assert run.returncode == 0, output(run)
    after = current_release(vps)
    assert after != before
    traffic.assert_none_lost()
    # Exactly the newest app_keep_releases, the new one among them.
    assert releases(vps) == sorted([*present, after])[-KEEP_RELEASES:]
    assert workers_on(vps, after), "gunicorn workers still run the old release's code"
    vps.wait_until_ready(seconds=30)


def test_a_release_with_new_requirements_installs_them_and_loses_no_request(site, vps, token):
    """Changed requirements: a new wheelhouse, a venv installed from it (not a copy of
    the previous release's), and gunicorn restarted (a HUP would keep the old packages)."""
    requirements = git("show", f"HEAD:{REQUIREMENTS}")
    commit = commit_with(REQUIREMENTS, f"{requirements}\n{EXTRA_REQUIREMENT}\n",
                         "A release with one more requirement")
    before = current_release(vps)
    master = vps.run("systemctl show -p MainPID --value tdc-gunicorn").strip()
    with Traffic(vps, token) as traffic:
        run = playbook("deploy", "-e", f"app_source_ref={commit}")
    assert run.returncode == 0, output(run)
    after = current_release(vps)
    assert after != before
    traffic.assert_none_lost()
    module = EXTRA_REQUIREMENT.split("==")[0]
    vps.run(f"{after}/venv/bin/python -c 'import {module}'")
    # Installed, not hard-linked from the previous release's venv.
    site_packages = "venv/lib/python3*/site-packages"  # the glob names the venv's own Python
    inodes = vps.run(f"stat -c %i {before}/{site_packages}/flask/app.py "
                     f"{after}/{site_packages}/flask/app.py").split()
    assert inodes[0] != inodes[1], "the new venv shares files with the previous one"
    assert vps.run("systemctl show -p MainPID --value tdc-gunicorn").strip() != master, \
        "gunicorn was reloaded, not restarted, for new requirements"
    assert workers_on(vps, after)
    vps.wait_until_ready(seconds=30)


@pytest.mark.parametrize("requirement, refusal", [
    (EXTRA_REQUIREMENT[:-8] + "00000000", "DO NOT MATCH THE HASHES"),
    (EXTRA_REQUIREMENT.split()[0], "Hashes are required in --require-hashes mode"),
], ids=["wrong hash", "no hash"])
def test_a_requirement_without_its_true_hash_stops_the_release_before_the_host(
        site, vps, requirement, refusal):
    requirements = git("show", f"HEAD:{REQUIREMENTS}")
    commit = commit_with(REQUIREMENTS, f"{requirements}\n{requirement}\n",
                         "A release with a requirement whose hash is not its own")
    present, before = releases(vps), current_release(vps)
    run = playbook("deploy", "-e", f"app_source_ref={commit}")
    assert run.returncode != 0, output(run)
    assert refusal in run.stdout, output(run)
    assert (releases(vps), current_release(vps)) == (present, before)


def test_a_broken_release_is_rolled_back_and_loses_no_request(site, vps, token):
    before = current_release(vps)
    with Traffic(vps, token) as traffic:
        run = playbook("deploy", "-e", f"app_source_ref={broken_commit()}",
                       "-e", "app_release_ready_retries=3")
    assert run.returncode != 0, "the broken release passed its check: " + output(run)
    assert "ROLLED BACK" in run.stdout, output(run)
    assert current_release(vps) == before
    traffic.assert_none_lost()
    assert workers_on(vps, before)
    assert site.get(vps.url("/api/v1/health/ready"), timeout=15).status_code == 200


def test_rollback_goes_back_one_release(site, vps, token):
    current = current_release(vps)
    older = [release for release in releases(vps) if release < current]
    assert older, "no older release to roll back to"
    with Traffic(vps, token) as traffic:
        run = playbook("rollback")
    assert run.returncode == 0, output(run)
    assert current_release(vps) == older[-1]
    traffic.assert_none_lost()
    assert workers_on(vps, older[-1])
