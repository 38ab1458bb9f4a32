#!/usr/bin/env bash
# `make deploy` and `make testremote` against GUEST=127.0.0.1: a private
# sshd on loopback, the programs deployed into a private prefix, and the
# Docker sanity sequence run over ssh with the plugin on esxsim (the ESX
# code path end to end, with no ESXi).
source "$(dirname "$0")/lib.sh"
require_root; require_loop
require_docker
command -v /usr/sbin/sshd >/dev/null || { echo "SKIP: no sshd (make deps)"; exit 77; }
require_driver_socket_free

port=$((20000 + $$ % 20000))
mkdir -p "$T/ssh" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/host"
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/id"
cp "$T/ssh/id.pub" "$T/ssh/authorized_keys"
cat > "$T/ssh/sshd_config" <<CFG
ListenAddress 127.0.0.1
Port $port
HostKey $T/ssh/host
AuthorizedKeysFile $T/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
StrictModes no
UsePAM no
PidFile $T/ssh/sshd.pid
Subsystem sftp /usr/lib/openssh/sftp-server
CFG
/usr/sbin/sshd -f "$T/ssh/sshd_config" -E "$T/ssh/sshd.log"
on_exit 'kill "$(cat "$T/ssh/sshd.pid" 2>/dev/null)" 2>/dev/null'
export SSH_OPTS="-o Port=$port -i $T/ssh/id -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o LogLevel=ERROR"
for _ in $(seq 50); do ssh -o BatchMode=yes $SSH_OPTS root@127.0.0.1 true 2>/dev/null && break; sleep 0.1; done

export GUEST_PREFIX=$T/prefix VDVS_IMAGE=$IMAGE START_PLUGIN=esxsim
make -s -C "$TOP" deploy GUEST=127.0.0.1 > "$T/deploy.out" 2>&1 || { cat "$T/deploy.out"; fail "make deploy"; }
[ -x "$T/prefix/sbin/vdvsd" ] && [ -x "$T/prefix/sbin/vmdkfs" ] && [ -x "$T/prefix/bin/vdvsctl" ] || fail "deploy tree incomplete"
ok "make deploy GUEST=127.0.0.1"
rrc=0; make -s -C "$TOP" testremote GUEST=127.0.0.1 > "$T/remote.out" 2>&1 || rrc=$?
cat "$T/remote.out"
[ $rrc = 0 ] || fail "make testremote exited $rrc"
grep -q "SANITY PASSED on 127.0.0.1" "$T/remote.out" || { cat "$T/remote.out"; fail "no PASSED line"; }
for s in "==> docker volume create" "==> docker volume ls" "==> docker volume inspect" "refused, as it must be" "then docker volume rm"; do
  grep -q "$s" "$T/remote.out" || fail "sanity output lacks '$s'"
done
ok "make testremote GUEST=127.0.0.1 (plugin on esxsim over ssh)"
[ ! -S /run/docker/plugins/vsphere.sock ] || fail "remote plugin left its socket behind"
