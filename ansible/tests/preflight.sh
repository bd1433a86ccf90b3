#!/usr/bin/env bash
# The preflight stops a bad run before it changes anything, naming the variable.
# Runs without any host: every case fails on the controller before the first connection.
# usage: ansible/tests/preflight.sh   (ansible-playbook on PATH, e.g. .venv-ops/bin)
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export ANSIBLE_CONFIG=$repo/ansible/ansible.cfg ANSIBLE_NOCOLOR=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
example=$repo/ansible/inventories/production/group_vars/all/vault.yml.example
passed=0 failed=0

# expect_failure NAME PATTERN ansible-playbook-args...: the run must fail and print PATTERN.
expect_failure() {
  local name=$1 pattern=$2 out=$tmp/out
  shift 2
  if ansible-playbook "$@" --tags preflight >"$out" 2>&1; then
    echo "FAIL $name: the run succeeded"
    failed=$((failed + 1))
  elif grep -qF -- "$pattern" "$out"; then
    echo "ok   $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name: no '$pattern' in the output:"
    sed 's/^/    /' "$out" | tail -20
    failed=$((failed + 1))
  fi
}

# The local inventory's state in a scratch dir, not .local-vps: its SSH key (the deploy
# user's), and the secrets it generates.
mkdir -p "$tmp/state/ssh" && ssh-keygen -q -t ed25519 -N '' -f "$tmp/state/ssh/id_ed25519"
# The stand-in relay's CA, which the local inventory reads (its content is not checked).
mkdir -p "$tmp/state/relay" && : >"$tmp/state/relay/ca.pem"
# The stand-in backup storage's CA and passwords, likewise.
mkdir -p "$tmp/state/storage" "$tmp/state/secrets" && : >"$tmp/state/storage/ca.pem"
echo storagepass1 >"$tmp/state/secrets/backup_storage_password"
echo storagepass2 >"$tmp/state/secrets/backup_prune_storage_password"

# A local inventory without app_secret_key.
cp -r "$repo/ansible/inventories/local" "$tmp/inventory"
sed -i '/^app_secret_key:/d' "$tmp/inventory/group_vars/all/vars.yml"
expect_failure "missing app_secret_key" "app_secret_key is not defined" \
  -i "$tmp/inventory" -e local_vps_dir="$tmp/state" "$repo/ansible/site.yml"

# A wrong type in the inventory: the argument specs name the variable.
expect_failure "non-integer app_gunicorn_workers" "app_gunicorn_workers" \
  -i "$repo/ansible/inventories/local" -e local_vps_dir="$tmp/state" \
  -e app_gunicorn_workers=many "$repo/ansible/site.yml"

# Production with the example vault: every secret is a placeholder.
expect_failure "placeholder production secret" "app_secret_key holds a placeholder value" \
  -i "$repo/ansible/inventories/production" -e @"$example" "$repo/ansible/site.yml"

# Production with a short secret.
expect_failure "short production secret" "app_jwt_secret_key is missing or shorter than 32" \
  -i "$repo/ansible/inventories/production" -e @"$example" \
  -e vault_app_jwt_secret_key=Zq8vR2mT5kW9pL3n "$repo/ansible/site.yml"

# Two secrets with one value: the second is named with the one it repeats.
expect_failure "migrations password = app password" "mysql_migrate_password must differ from mysql_app_password" \
  -i "$repo/ansible/inventories/local" -e local_vps_dir="$tmp/state" \
  -e mysql_app_password=Zq8vR2mT5kW9pL3nXy -e mysql_migrate_password=Zq8vR2mT5kW9pL3nXy "$repo/ansible/site.yml"

# Production with real-looking secrets but no operator's key: root may not log in, so
# Ansible would lock itself out.
vault=$tmp/vault.yml
for name in app_secret_key app_jwt_secret_key app_admin_password mysql_app_password \
  mysql_migrate_password redis_password app_smtp_password backup_restic_password \
  mysql_exporter_password redis_exporter_password; do
  echo "vault_$name: $(openssl rand -hex 20)"
done >"$vault"
printf '%s\n' "vault_app_admin_email: admin@thedreamerscave.club" \
  "vault_tls_acme_email: hostmaster@thedreamerscave.club" \
  "vault_app_smtp_host: smtp.mailprovider.net" "vault_app_smtp_port: 587" \
  "vault_app_smtp_username: tdc-sender" \
  "vault_backup_restic_repository: rest:https://tdc-db:$(openssl rand -hex 12)@backup.tdc-ops.net/tdc/" \
  "vault_backup_prune_repository: rest:https://tdc-prune:$(openssl rand -hex 12)@backup.tdc-ops.net/tdc/" >>"$vault"
relay=(-e '{"app_smtp_relay_addresses": ["203.0.113.25"], "backup_storage_addresses": ["198.51.100.7"]}')
expect_failure "production without a deploy key" "set hardening_deploy_authorized_keys" \
  -i "$repo/ansible/inventories/production" -e @"$vault" "${relay[@]}" "$repo/ansible/site.yml"

# Production with everything but the mail relay: each missing setting is named.
expect_failure "production without the relay's addresses" "app_smtp_relay_addresses must list the mail relay's IP" \
  -i "$repo/ansible/inventories/production" -e @"$vault" "$repo/ansible/site.yml"
expect_failure "production with a relay name for an address" "app_smtp_relay_addresses must list" \
  -i "$repo/ansible/inventories/production" -e @"$vault" \
  -e '{"app_smtp_relay_addresses": ["smtp.mailprovider.net"]}' "$repo/ansible/site.yml"
expect_failure "production without a relay host" "app_smtp_host is empty" \
  -i "$repo/ansible/inventories/production" -e @"$vault" "${relay[@]}" -e vault_app_smtp_host= \
  "$repo/ansible/site.yml"
expect_failure "production without a relay user" "app_smtp_username is empty" \
  -i "$repo/ansible/inventories/production" -e @"$vault" "${relay[@]}" -e vault_app_smtp_username= \
  "$repo/ansible/site.yml"
expect_failure "production without a relay password" "app_smtp_password is missing or shorter than 8" \
  -i "$repo/ansible/inventories/production" -e @"$vault" "${relay[@]}" -e vault_app_smtp_password= \
  "$repo/ansible/site.yml"
expect_failure "production with the example's relay" "app_smtp_host holds a placeholder value" \
  -i "$repo/ansible/inventories/production" -e @"$vault" "${relay[@]}" \
  -e vault_app_smtp_host=smtp.example.invalid "$repo/ansible/site.yml"

# Production without the backup storage's addresses, or its repository.
expect_failure "production without the storage's addresses" "backup_storage_addresses must list the backup storage's IP" \
  -i "$repo/ansible/inventories/production" -e @"$vault" -e '{"app_smtp_relay_addresses": ["203.0.113.25"]}' \
  "$repo/ansible/site.yml"
expect_failure "production without a backup repository" "backup_restic_repository is empty" \
  -i "$repo/ansible/inventories/production" -e @"$vault" "${relay[@]}" -e vault_backup_restic_repository= \
  "$repo/ansible/site.yml"

# Production without its vault file: the vault variable is named.
expect_failure "production without vault.yml" "vault_app_secret_key" \
  -i "$repo/ansible/inventories/production" "$repo/ansible/deploy.yml"

# A frontend "build" without an index.html: stopped before the site's root points at it.
expect_failure "frontend build without index.html" "nginx_frontend_dist is \"$tmp/state\", which has no index.html" \
  -i "$repo/ansible/inventories/local" -e local_vps_dir="$tmp/state" \
  -e nginx_frontend_dist="$tmp/state" "$repo/ansible/site.yml"

# Several hosts (the local inventory's variables), with the groups given as
# "group:host,host ..."; every host has a private address unless NOADDR names it.
several_hosts() {
  local dir=$tmp/several-$1 spec group hosts host
  shift
  mkdir -p "$dir" && ln -sfn "$repo/ansible/inventories/local/group_vars" "$dir/group_vars"
  {
    echo "all:"
    echo "  children:"
    echo "    tdc:"
    echo "      hosts:"
    local i=10
    for host in edge1 app1 app2 db1; do
      i=$((i + 1))
      echo "        $host:"
      echo "          ansible_host: 192.0.2.$i"
      [ "$host" = "${NOADDR:-}" ] || echo "          private_address: 198.51.100.$i"
    done
    echo "      children:"
    for spec in "$@"; do
      group=${spec%%:*} hosts=${spec#*:}
      echo "        $group:"
      echo "          hosts:"
      for host in ${hosts//,/ }; do echo "            $host:"; done
    done
  } >"$dir/hosts.yml"
  echo "$dir"
}
placement=("edge:edge1" "web:app1,app2" "worker:app1,app2" "monitor:edge1" "redis:db1")
expect_failure "beat on two hosts" 'group "beat" (Celery beat: two would run every periodic task twice) has 2' \
  -i "$(several_hosts beat2 "${placement[@]}" "beat:app1,app2" "db:db1")" -e local_vps_dir="$tmp/state" \
  "$repo/ansible/site.yml"
expect_failure "no beat host" 'group "beat" (Celery beat: two would run every periodic task twice) has 0' \
  -i "$(several_hosts beat0 "${placement[@]}" "db:db1")" -e local_vps_dir="$tmp/state" "$repo/ansible/site.yml"
expect_failure "no db host" 'group "db" (MariaDB) has 0 host(s)' \
  -i "$(several_hosts db0 "${placement[@]}" "beat:app1")" -e local_vps_dir="$tmp/state" "$repo/ansible/site.yml"
expect_failure "a host without a private address" "app2 has no private_address" \
  -i "$(NOADDR=app2 several_hosts noaddr "${placement[@]}" "beat:app1" "db:db1")" -e local_vps_dir="$tmp/state" \
  "$repo/ansible/site.yml"

# Several hosts without the internal CA (not made on the controller, none given): MariaDB
# and Redis have remote clients, which would verify them by it.
expect_failure "several hosts without the internal CA" "internal_tls_ca_certificate must be the internal CA's certificate in PEM" \
  -i "$(several_hosts noca "${placement[@]}" "beat:app1" "db:db1")" -e local_vps_dir="$tmp/state" \
  -e internal_tls_ca_dir= "$repo/ansible/site.yml"
expect_failure "several hosts with the example's internal CA" "internal_tls_ca_private_key must be the internal CA's private key in PEM" \
  -i "$(several_hosts exampleca "${placement[@]}" "beat:app1" "db:db1")" -e local_vps_dir="$tmp/state" \
  -e internal_tls_ca_dir= -e @"$example" \
  -e '{"internal_tls_ca_certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}' \
  -e internal_tls_ca_private_key='{{ vault_internal_tls_ca_private_key }}' "$repo/ansible/site.yml"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
