#!/usr/bin/env bash
# Builds hajib_<version>_amd64.deb, installs it with apt into a clean Debian 12 root
# (debootstrap minbase, cached), and checks it there: `hajib check` on the packaged config, the
# user, the conffiles, the enabled unit; then starts the installed daemon as the unit would (its
# ExecStartPre and ExecStart lines, as user hajib, with $NOTIFY_SOCKET) and follows READY=1,
# /healthz, a logrotate with SIGUSR1, SIGHUP (RELOADING=1, READY=1) and SIGTERM (STOPPING=1, exit 0);
# `systemd-analyze verify` on the unit, `logrotate -d` on its file, the man page linted; a purge.
#
#   scripts/package-test.sh [BUILD_DIR]     (default: its own build-package/, only the binary)
# Needs root (debootstrap, chroot, mounts). The root is cached as a tarball, with the .debs apt
# fetched, in ${XDG_CACHE_HOME:-~/.cache}/hajib/; HAJIB_REFRESH_ROOT=1 makes it again.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$HAJIB_ROOT"

fail() { echo "package-test: FAIL: $*" >&2; exit 1; }
step() { echo "-- [${SECONDS}s] $*"; }

if [[ $(id -u) != 0 ]]; then
  command -v sudo >/dev/null || fail "needs root: debootstrap, chroot and mount"
  exec sudo --preserve-env=XDG_CACHE_HOME,HAJIB_REFRESH_ROOT,http_proxy "$0" "$@"
fi
for tool in debootstrap dpkg-shlibdeps cpack python3 curl systemd-analyze groff man unshare nsenter; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/install-deps.sh installs it)"
done

suite=bookworm
mirror=http://deb.debian.org/debian
cache=${XDG_CACHE_HOME:-$HOME/.cache}/hajib
tarball=$cache/debian12-$suite-minbase.tar.gz
archives=$cache/apt-archives   # the .debs apt fetched into the root, kept for the next run
work=$(mktemp -d /var/tmp/hajib-package-test.XXXXXX)
root=$work/root
daemon_pid="" listener_pid=""

unmount_root() {
  local mounted
  for mounted in $(awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount "$mounted" 2>/dev/null || umount -l "$mounted"
  done
}
cleanup() {
  set +e
  [[ -n $daemon_pid ]] && kill -KILL "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  [[ -n $listener_pid ]] && kill "$listener_pid" 2>/dev/null && wait "$listener_pid" 2>/dev/null
  unmount_root
  # Never remove through a mount that is still there (a bind of /dev would take the host's with it).
  if awk -v r="$root/" 'index($2, r) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    echo "package-test: $root still has mounts; left in place" >&2
  else
    rm -rf --one-file-system "$work"
  fi
}
trap cleanup EXIT

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 ${http_proxy:+http_proxy="$http_proxy"} "$@"; }

# --- the package ---------------------------------------------------------------------------
build=${1:-build-package}
step "building the .deb in $build"
if [[ ! -f $build/CMakeCache.txt ]]; then
  # Its own tree: cpack's preinstall then builds only what the package holds, not the tests.
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON \
    -DCMAKE_C_COMPILER_LAUNCHER="$(command -v ccache || true)" -DCMAKE_CXX_COMPILER_LAUNCHER="$(command -v ccache || true)" \
    >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target hajib hajib-packaging-files -- --no-print-directory 2>&1 \
  | grep -E 'warning|error|Error' || true
rm -f "$build"/hajib_*_amd64.deb
(cd "$build" && cpack -G DEB >cpack.log 2>&1) || fail "cpack: $(tail -20 "$build/cpack.log")"
debs=("$build"/hajib_*_amd64.deb)
[[ ${#debs[@]} == 1 && -f ${debs[0]} ]] || fail "cpack made no hajib_<version>_amd64.deb in $build"
deb=${debs[0]}
echo "$deb: $(dpkg-deb -f "$deb" Version), Depends: $(dpkg-deb -f "$deb" Depends)"

step "linting the man page (groff -ww, man --warnings)"
man_page=$work/hajib.8
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/man/man8/hajib.8.gz | gzip -dc >"$man_page"
groff_warnings=$(groff -ww -man -z "$man_page" 2>&1)
[[ -z $groff_warnings ]] || fail "groff warns about hajib.8: $groff_warnings"
man_warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$man_page" 2>&1 >/dev/null)
[[ -z $man_warnings ]] || fail "man warns about hajib.8: $man_warnings"

# --- a clean Debian 12 root ------------------------------------------------------------------
mkdir -p "$cache" "$archives" "$root"
if [[ ! -f $tarball || -n ${HAJIB_REFRESH_ROOT:-} ]]; then
  step "debootstrap --variant=minbase $suite (cached afterwards in $tarball)"
  debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || fail "debootstrap: $(tail -20 "$work/debootstrap.log")"
  # What a Debian 12 server has: the point releases' updates and security updates as well.
  cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb ${mirror%/debian}/debian-security $suite-security main
EOF
  # A throwaway root: dpkg need not fsync every file it unpacks.
  echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/hajib-test-unsafe-io"
  # The package lists go in the tarball too: a later `apt-get update` then fetches only what changed.
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  in_root apt-get update -qq >"$work/apt.log" 2>&1 || fail "apt-get update: $(tail -20 "$work/apt.log")"
  in_root apt-get clean  # debootstrap's own .debs: installed already
  unmount_root  # debootstrap leaves none, but the tarball must never hold /proc
  tar -C "$root" --numeric-owner -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
else
  step "unpacking the cached root $tarball"
  tar -C "$root" --numeric-owner -xzf "$tarball"
fi
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
if [[ ! -c $root/dev/null ]]; then
  # debootstrap in a container leaves no device nodes: a private /dev with the usual few.
  mount -t tmpfs -o mode=0755,nosuid dev "$root/dev"
  for node in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
    IFS=: read -r name major minor <<<"$node"
    mknod -m 0666 "$root/dev/$name" c "$major" "$minor"
  done
fi

# --- install with apt, Depends from the mirror -----------------------------------------------
step "apt-get install ./$(basename "$deb") in the root"
cp "$deb" "$root/tmp/"
find "$archives" -name '*.deb' -exec cp -t "$root/var/cache/apt/archives/" {} +
in_root apt-get update -qq >"$work/apt.log" 2>&1 || fail "apt-get update: $(tail -20 "$work/apt.log")"
# Depends as apt resolves them; of the Recommends only logrotate (the rest would bring cron and a
# mail server into the root, which a server has already and this test does not need).
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "/tmp/$(basename "$deb")" logrotate >>"$work/apt.log" 2>&1 \
  || fail "apt-get install: $(tail -30 "$work/apt.log")"
find "$root/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -exec cp -t "$archives/" {} +
grep -E '^(Setting up|Unpacking) hajib' "$work/apt.log" | tail -1

step "checking what the package installed"
in_root /usr/sbin/hajib check --config /etc/hajib/hajib.yaml || fail "hajib check rejects the packaged /etc/hajib/hajib.yaml"
IFS=: read -r _ _ hajib_uid _ _ hajib_home hajib_shell < <(in_root getent passwd hajib) \
  || fail "no hajib user after installation"
[[ $hajib_home == /var/lib/hajib && $hajib_shell == /usr/sbin/nologin ]] \
  || fail "hajib user has home $hajib_home and shell $hajib_shell (want /var/lib/hajib, /usr/sbin/nologin)"
(( hajib_uid < 1000 )) || fail "hajib is not a system user (uid $hajib_uid)"
in_root getent group hajib >/dev/null || fail "no hajib group"
expect_stat() {  # PATH "owner:group mode"
  local got; got=$(in_root stat -c '%U:%G %a' "$1") || fail "$1 is missing"
  [[ $got == "$2" ]] || fail "$1 is $got, want $2"
}
expect_stat /var/log/hajib "hajib:adm 750"
expect_stat /etc/hajib "root:hajib 750"
expect_stat /usr/sbin/hajib "root:root 755"
# Every file the package puts under /etc is a conffile that dpkg knows.
want_conffiles=$(dpkg-deb -c "$deb" | awk '$1 ~ /^-/ && $6 ~ /^\.\/etc\// { print substr($6, 2) }' | sort)
got_conffiles=$(in_root dpkg-query -W -f='${Conffiles}\n' hajib | awk 'NF { print $1 }' | sort)
[[ -n $want_conffiles && $got_conffiles == "$want_conffiles" ]] \
  || fail "dpkg lists conffiles [$got_conffiles], the package has [$want_conffiles] under /etc"
echo "conffiles: $(tr '\n' ' ' <<<"$got_conffiles")"
[[ -L $root/etc/systemd/system/multi-user.target.wants/hajib.service ]] \
  || fail "postinst did not enable hajib.service (no multi-user.target.wants link)"
unit=$root/lib/systemd/system/hajib.service

step "systemd-analyze verify hajib.service"
# verify checks that ExecStart's binary exists and that man:hajib(8) resolves, on this machine: a
# private mount namespace shows it the root's /usr/sbin, and MANPATH the root's man pages.
verify_log=$work/verify.log
unshare --mount --propagation private sh -c \
  'mount --bind "$1/usr/sbin" /usr/sbin && MANPATH="$1/usr/share/man" exec systemd-analyze verify "$2"' \
  sh "$root" "$unit" >"$verify_log" 2>&1 || fail "systemd-analyze verify: $(cat "$verify_log")"
[[ ! -s $verify_log ]] || fail "systemd-analyze verify is not clean: $(cat "$verify_log")"

step "logrotate -d /etc/logrotate.d/hajib"
in_root logrotate -d /etc/logrotate.d/hajib >"$work/logrotate.log" 2>&1 || fail "logrotate -d: $(cat "$work/logrotate.log")"
! grep -iE '^error' "$work/logrotate.log" || fail "logrotate -d reports errors"

# --- the daemon, started as the unit starts it -----------------------------------------------
unit_line() {  # KEY: its one value in the installed unit, as words
  local lines; lines=$(sed -n "s/^$1=//p" "$unit")
  [[ $(wc -l <<<"$lines") == 1 && -n $lines ]] || fail "want one $1= line in hajib.service, got: $lines"
  [[ $lines != [-@:+!]* ]] || fail "$1= has a prefix this test does not model: $lines"
  echo "$lines"
}
read -ra exec_start_pre <<<"$(unit_line ExecStartPre)"
read -ra exec_start <<<"$(unit_line ExecStart)"
[[ $(unit_line User) == hajib ]] || fail "the unit does not run as User=hajib"

# The daemon gets a network of its own when the kernel allows it, so that the packaged ports
# (2775, 8775) never meet a proxy already running here.
netns=() in_netns=()
if unshare --net true 2>/dev/null; then netns=(unshare --net sh -c 'ip link set lo up && exec "$@"' sh); fi
# As systemd would run it: user and group hajib, a clean environment, the unit's limits and umask.
# It replaces the (sub)shell it runs in, so that $! is the daemon's own PID.
as_unit() {
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"  # LimitNOFILE, as far as this machine allows
  umask 0027
  exec "${netns[@]}" chroot --userspec=hajib:hajib "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    HOME=/var/lib/hajib USER=hajib LOGNAME=hajib NOTIFY_SOCKET=/run/hajib-test/notify "$@"
}

step "ExecStartPre as user hajib: ${exec_start_pre[*]}"
(as_unit "${exec_start_pre[@]}") || fail "ExecStartPre fails as user hajib"

# systemd's end of sd_notify: a datagram socket inside the root, one line per message.
mkdir -p "$root/run/hajib-test"
notes=$work/notify.log; : >"$notes"
python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777)
with open(sys.argv[2], "a", buffering=1) as out:
    while True: out.write(s.recv(4096).decode(errors="replace").replace("\n", " ") + "\n")
' "$root/run/hajib-test/notify" "$notes" &
listener_pid=$!
for _ in $(seq 50); do [[ -S $root/run/hajib-test/notify ]] && break; sleep 0.1; done
[[ -S $root/run/hajib-test/notify ]] || fail "the notify listener did not start"

# await_note N PATTERN: the Nth notification (counting from 1) arrives and matches PATTERN.
await_note() {
  for _ in $(seq 200); do
    [[ $(wc -l <"$notes") -ge $1 ]] && break
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  local note; note=$(sed -n "$1p" "$notes")
  [[ $note =~ $2 ]] || fail "notification $1 is '$note', want $2; the daemon said: $(tail -20 "$work/daemon.log")"
  echo "notify: $note"
}

# await_reload_audited FILE: the daemon's audit line for a reload reaches FILE (flushed each tick).
await_reload_audited() {
  for _ in $(seq 100); do grep -q '"reload"' "$1" && return 0; sleep 0.1; done
  fail "no reload line in ${1#"$root"}: $(tail -c 500 "$1")"
}

step "ExecStart as user hajib: ${exec_start[*]}"
(as_unit "${exec_start[@]}") >"$work/daemon.log" 2>&1 &
daemon_pid=$!
await_note 1 '^READY=1 STATUS=listening smpp=[^ ]+ stats=([0-9.]+:[0-9]+)'
stats=${BASH_REMATCH[1]}
[[ $(cat "/proc/$daemon_pid/comm") == hajib && $(stat -c %u "/proc/$daemon_pid") == "$hajib_uid" ]] \
  || fail "PID $daemon_pid is not hajib running as uid $hajib_uid"
((${#netns[@]} == 0)) || in_netns=(nsenter --target "$daemon_pid" --net)
healthz=$("${in_netns[@]}" curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "http://$stats/healthz") || true
[[ $healthz == 200 ]] || fail "GET http://$stats/healthz answered '$healthz', want 200"
echo "GET http://$stats/healthz: 200"

audit=$root/var/log/hajib/audit.log
[[ -f $audit ]] || fail "the daemon created no /var/log/hajib/audit.log"
expect_stat /var/log/hajib/audit.log "hajib:hajib 640"  # the unit's UMask=0027

step "SIGHUP: RELOADING=1, then READY=1, and the reload is audited"
kill -HUP "$daemon_pid"
await_note 2 '^RELOADING=1 MONOTONIC_USEC=[0-9]+'
await_note 3 '^READY=1 STATUS=reloaded'
await_reload_audited "$audit"

step "logrotate -f, SIGUSR1 (what postrotate sends through systemctl), SIGHUP: audited in the new file"
in_root logrotate -f -s /tmp/logrotate.state /etc/logrotate.d/hajib >>"$work/logrotate.log" 2>&1 \
  || fail "logrotate -f: $(tail -20 "$work/logrotate.log")"
grep -q '"reload"' "$audit.1" || fail "logrotate did not move audit.log to audit.log.1"
expect_stat /var/log/hajib/audit.log "hajib:adm 640"
[[ ! -s $audit ]] || fail "the new audit.log is not empty"
kill -USR1 "$daemon_pid"
kill -HUP "$daemon_pid"
await_note 4 '^RELOADING=1'
await_note 5 '^READY=1 STATUS=reloaded'
await_reload_audited "$audit"  # not in audit.log.1: SIGUSR1 reopened the file

step "SIGTERM: STOPPING=1, then a clean exit"
kill -TERM "$daemon_pid"
await_note 6 '^STOPPING=1'
status=0; wait "$daemon_pid" || status=$?
daemon_pid=""
[[ $status == 0 ]] || fail "the daemon exited $status after SIGTERM: $(tail -20 "$work/daemon.log")"
grep -q 'stopped' "$work/daemon.log" || fail "the daemon did not log 'stopped': $(tail -20 "$work/daemon.log")"
kill "$listener_pid"; wait "$listener_pid" 2>/dev/null || true
listener_pid=""

# --- purge -----------------------------------------------------------------------------------
step "apt-get purge hajib"
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q hajib >>"$work/apt.log" 2>&1 \
  || fail "apt-get purge: $(tail -20 "$work/apt.log")"
for gone in /var/log/hajib /var/lib/hajib /etc/hajib /lib/systemd/system/hajib.service \
    /etc/systemd/system/multi-user.target.wants/hajib.service; do
  [[ ! -e $root$gone && ! -L $root$gone ]] || fail "$gone is still there after purge"
done
! in_root dpkg-statoverride --list /etc/hajib >/dev/null || fail "the statoverride on /etc/hajib survived purge"

echo "package-test: ok in ${SECONDS}s ($deb in a clean Debian 12 root)"
