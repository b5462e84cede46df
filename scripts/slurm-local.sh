#!/usr/bin/env bash
# A throw-away single-node SLURM cluster with two fake GPUs, for testing the `gpu` profile.
#
#   scripts/slurm-local.sh up       install Debian's slurm-wlm + munge if missing, write the config,
#                                    start munged, slurmctld, slurmd (no systemd), wait until idle
#   scripts/slurm-local.sh down     cancel this cluster's jobs, stop exactly the daemons `up` started
#   scripts/slurm-local.sh status   daemons + sinfo; exit 0 only if the node is usable
#   scripts/slurm-local.sh env      print `export SLURM_CONF=...` (eval it before sbatch/snakemake)
#
# Everything lives under $R1_SLURM_DIR (default /tmp/r1interp-slurm): slurm.conf, gres.conf, a
# private munge key and socket, state, logs and PID files. `up` also links /etc/slurm/slurm.conf to
# it (only if no other slurm.conf is there) because the jobs' own `srun` cannot see SLURM_CONF:
# snakemake's slurm-jobstep plugin drops every SLURM_* variable but the job ids. `down` removes
# that link again: a slurm.conf naming a dead controller makes every SLURM client (and every
# `snakemake` start, which probes `scontrol show config`) wait ~9 s for a connection timeout.
#
# Knobs (environment): R1_SLURM_DIR, R1_SLURM_CTLD_PORT (16817), R1_SLURM_D_PORT (16818),
# R1_SLURM_CPUS (nproc), R1_SLURM_MEM_MB (total RAM in MB), R1_SLURM_GPUS (2),
# R1_SLURM_GPU_TYPE (fakegpu), R1_SLURM_NO_INSTALL=1 (fail instead of apt-get install).
# Exit codes: 0 ok, 1 failure, 3 cannot run here (not root / no apt / no packages).
set -euo pipefail

DIR="${R1_SLURM_DIR:-/tmp/r1interp-slurm}"
CTLD_PORT="${R1_SLURM_CTLD_PORT:-16817}"
SLURMD_PORT="${R1_SLURM_D_PORT:-16818}"
NGPUS="${R1_SLURM_GPUS:-2}"
GPU_TYPE="${R1_SLURM_GPU_TYPE:-fakegpu}"
NODE=r1node
CONF="$DIR/slurm.conf"
SYSTEM_CONF=/etc/slurm/slurm.conf
DAEMONS=(munged slurmctld slurmd)
PACKAGES=(slurmctld slurmd slurm-client munge)

log() { echo "slurm-local: $*" >&2; }
STARTING=0
die() {
    log "error: $*"
    # a failed `up` leaves nothing behind: stop what it had started already
    [ "$STARTING" = 1 ] && { STARTING=0; cmd_down || true; }
    exit "${2:-1}"
}

have_binaries() {
    local b
    for b in munged slurmctld slurmd sbatch squeue sinfo scontrol; do
        command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || return 1
    done
}

install_packages() {
    have_binaries && return 0
    [ "${R1_SLURM_NO_INSTALL:-0}" = 1 ] && die "SLURM binaries missing and R1_SLURM_NO_INSTALL=1" 3
    command -v apt-get >/dev/null 2>&1 || die "SLURM binaries missing and no apt-get here" 3
    log "installing ${PACKAGES[*]} (apt-get)"
    # Debian's postinst scripts would try to start the services; a policy-rc.d forbids that
    # (we start our own daemons with our own config). Only created if none exists, then removed.
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
    fi
    local rc=0
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >"$DIR/log/apt.log" 2>&1; then
        apt-get update -q >>"$DIR/log/apt.log" 2>&1 || true
        apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >>"$DIR/log/apt.log" 2>&1 || rc=$?
    fi
    [ "$made_policy" = 1 ] && rm -f "$policy"
    [ "$rc" = 0 ] || die "apt-get install failed (see $DIR/log/apt.log)" 3
    have_binaries || die "packages installed but binaries not found" 3
}

# pid_alive NAME: the PID recorded for NAME is running and is still that program (no PID reuse).
pid_alive() {
    local name=$1 pidfile="$DIR/pids/$1.pid" pid
    [ -s "$pidfile" ] || return 1
    pid=$(cat "$pidfile")
    running "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$name" || return 1
}

# running PID: the process exists and is not a zombie waiting for a parent that never reaps it.
running() { [ -d "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

write_config() {
    local cpus mem host
    cpus="${R1_SLURM_CPUS:-$(nproc)}"
    mem="${R1_SLURM_MEM_MB:-$(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo)}"
    host=$(hostname -s)
    mkdir -p "$DIR"/{state,spool,log,pids,dev,munge}
    chmod 700 "$DIR/munge"
    # Fake GPUs: character devices (same numbers as /dev/null) that slurmd only stat()s.
    local i
    for ((i = 0; i < NGPUS; i++)); do
        [ -c "$DIR/dev/gpu$i" ] || mknod "$DIR/dev/gpu$i" c 1 3
    done
    [ -s "$DIR/munge/munge.key" ] || { dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none; }
    chmod 400 "$DIR/munge/munge.key"

    cat >"$CONF" <<EOF
# Written by scripts/slurm-local.sh: single-node test cluster, two fake GPUs, no accounting.
ClusterName=r1local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/log/slurmctld.daemon.pid
SlurmdPidFile=$DIR/log/slurmd.daemon.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MpiDefault=none
SwitchType=switch/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
# cons_tres is what makes --gpus / --cpus-per-gpu schedulable.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
GresTypes=gpu
# No slurmdbd: sacct cannot report jobs, so the profile uses squeue for status; finished jobs
# stay visible to squeue for MinJobAge seconds (>= 3 x the plugin's init delay).
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=300
# FIFO scheduling reacts at once to submissions and completions (no backfill interval to wait).
SchedulerType=sched/builtin
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
NodeName=$NODE NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:$GPU_TYPE:$NGPUS State=UNKNOWN
PartitionName=cpu Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$NODE Default=NO MaxTime=INFINITE State=UP
EOF
    cat >"$DIR/gres.conf" <<EOF
AutoDetect=off
NodeName=$NODE Name=gpu Type=$GPU_TYPE File=$DIR/dev/gpu[0-$((NGPUS - 1))]
EOF
    # An empty plugstack keeps /etc/slurm/plugstack.conf.d out of this cluster.
    : >"$DIR/plugstack.conf"
}

link_system_conf() {
    mkdir -p "$(dirname "$SYSTEM_CONF")"
    if [ -L "$SYSTEM_CONF" ] && [ "$(readlink "$SYSTEM_CONF")" = "$CONF" ]; then
        return 0
    fi
    [ -e "$SYSTEM_CONF" ] || [ -L "$SYSTEM_CONF" ] &&
        die "$SYSTEM_CONF exists and is not ours: not touching a real cluster's config" 3
    ln -s "$CONF" "$SYSTEM_CONF"
}

unlink_system_conf() {
    if [ -L "$SYSTEM_CONF" ] && [ "$(readlink "$SYSTEM_CONF")" = "$CONF" ]; then
        rm -f "$SYSTEM_CONF"
    fi
}

# start NAME CMD...: run CMD in the foreground mode of the daemon, in its own session, record $!.
start() {
    local name=$1
    shift
    if pid_alive "$name"; then
        log "$name already running (pid $(cat "$DIR/pids/$name.pid"))"
        return 0
    fi
    setsid "$@" >>"$DIR/log/$name.out" 2>&1 </dev/null &
    echo $! >"$DIR/pids/$name.pid"
    log "started $name (pid $!)"
}

wait_for() { # wait_for SECONDS DESCRIPTION CMD...
    local t=$1 what=$2 i
    shift 2
    for ((i = 0; i < t * 4; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    die "timed out after ${t}s waiting for $what (logs in $DIR/log)"
}

node_idle() { sinfo -h -N -n "$NODE" -o '%t' | grep -qE '^(idle|mix|alloc)'; }

cmd_up() {
    [ "$(id -u)" = 0 ] || die "needs root (it installs packages and runs the daemons as root)" 3
    local t0=$SECONDS
    mkdir -p "$DIR/log"
    install_packages
    local t1=$SECONDS
    if [ -e "$SYSTEM_CONF" ] && ! { [ -L "$SYSTEM_CONF" ] && [ "$(readlink "$SYSTEM_CONF")" = "$CONF" ]; }; then
        die "$SYSTEM_CONF exists and is not ours: not touching a real cluster's config" 3
    fi
    STARTING=1
    write_config
    link_system_conf
    export SLURM_CONF="$CONF"
    local munged sbin=/usr/sbin
    munged=$(command -v munged || echo $sbin/munged)
    start munged "$munged" --foreground --force --key-file="$DIR/munge/munge.key" \
        --socket="$DIR/munge/munge.socket" --pid-file="$DIR/log/munged.daemon.pid" \
        --seed-file="$DIR/munge/munged.seed" --log-file="$DIR/log/munged.log"
    wait_for 15 munged test -S "$DIR/munge/munge.socket"
    start slurmctld "$(command -v slurmctld || echo $sbin/slurmctld)" -D -c -i -f "$CONF"
    wait_for 30 slurmctld scontrol ping
    start slurmd "$(command -v slurmd || echo $sbin/slurmd)" -D -N "$NODE" -f "$CONF"
    wait_for 30 "node $NODE to register" node_idle
    STARTING=0
    log "up: packages ${t1}s after start, cluster $((SECONDS - t1))s, total $((SECONDS - t0))s"
    echo "export SLURM_CONF=$CONF"
}

cmd_down() {
    export SLURM_CONF="$CONF"
    if pid_alive slurmctld && [ -f "$CONF" ]; then
        # Jobs of this cluster only (our SLURM_CONF): their slurmstepd would outlive slurmd.
        scancel --full --quiet --user=root 2>/dev/null || true
        local i
        for ((i = 0; i < 40; i++)); do
            [ -z "$(squeue -h -t running,completing -o %i 2>/dev/null)" ] && break
            sleep 0.25
        done
    fi
    local name pid i
    for name in slurmd slurmctld munged; do
        if pid_alive "$name"; then
            pid=$(cat "$DIR/pids/$name.pid")
            kill -TERM "$pid" 2>/dev/null || true
            for ((i = 0; i < 40; i++)); do
                running "$pid" || break
                sleep 0.25
            done
            running "$pid" && kill -KILL "$pid" 2>/dev/null || true
            log "stopped $name (pid $pid)"
        fi
        rm -f "$DIR/pids/$name.pid"
    done
    unlink_system_conf
}

cmd_status() {
    local name ok=0
    for name in "${DAEMONS[@]}"; do
        if pid_alive "$name"; then
            echo "$name: running (pid $(cat "$DIR/pids/$name.pid"))"
        else
            echo "$name: stopped"
            ok=1
        fi
    done
    if [ "$ok" = 0 ]; then
        export SLURM_CONF="$CONF"
        sinfo -N -o '%N %P %t %c %m %G'
        node_idle || ok=1
    fi
    return "$ok"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) echo "export SLURM_CONF=$CONF" ;;
*)
    echo "usage: $0 up|down|status|env" >&2
    exit 2
    ;;
esac
