#!/usr/bin/env bash
# A user-space PulseAudio with a null sink, for live-audio tests on machines with no sound card.
#
#   scripts/virtual-audio.sh start|stop|status [RUNTIME_DIR]
#
# RUNTIME_DIR (default /tmp/vc-xdg, or $VC_AUDIO_DIR) becomes the server's XDG_RUNTIME_DIR.
# The null sink "vc_sink" is the default sink and its monitor the default source, so whatever is
# played into the sink (paplay file.wav, or voiceconsole's own output) is heard by the "mic".
# A low-latency silence stream (pacat --latency-msec=20 /dev/zero) keeps the sink running, so
# capture callbacks start within ~20 ms instead of ~2 s.
#
# Clients need the same runtime dir:  export XDG_RUNTIME_DIR=/tmp/vc-xdg
# "stop" stops only what "start" started: the pacat by its recorded pid, and the server of this
# runtime dir (pulseaudio --kill), and only when the pid files of this script are there.
set -euo pipefail

cmd=${1:-}
dir=${2:-${VC_AUDIO_DIR:-/tmp/vc-xdg}}
server_pidfile="$dir/vc-pulseaudio.pid"
pacat_pidfile="$dir/vc-pacat.pid"
log="$dir/pulse.log"

die() { echo "virtual-audio: $*" >&2; exit 1; }

need() {
    local missing=()
    for tool in pulseaudio pactl pacat; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if ((${#missing[@]})); then
        die "missing ${missing[*]}: apt-get install pulseaudio pulseaudio-utils"
    fi
}

pa() { env -u PULSE_SERVER XDG_RUNTIME_DIR="$dir" pactl "$@"; }

server_up() { pa info >/dev/null 2>&1; }

server_down() { ! server_up; }

alive() {  # alive PIDFILE NAME: the recorded pid runs a process called NAME
    local pid
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ -r /proc/$pid/comm ]] && [[ $(<"/proc/$pid/comm") == "$2" ]]
}

ready() {
    server_up || return 1
    pa list short sinks 2>/dev/null | grep -q $'\tvc_sink\t' || return 1
    alive "$pacat_pidfile" pacat || return 1
    pa list short sink-inputs 2>/dev/null | grep -q .
}

wait_for() {  # wait_for SECONDS COMMAND...
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

start() {
    need
    if ready; then
        echo "virtual-audio: already running in $dir"
        return 0
    fi
    mkdir -p -m 700 "$dir"
    if ! server_up; then
        # -n: no default.pa (no hardware probing); only the native protocol socket.
        env -u PULSE_SERVER XDG_RUNTIME_DIR="$dir" pulseaudio -D -n --exit-idle-time=-1 \
            --load=module-native-protocol-unix --log-target="file:$log" \
            || die "pulseaudio did not start; see $log"
        wait_for 10 server_up || die "pulseaudio did not answer within 10 s; see $log"
        cat "$dir/pulse/pid" >"$server_pidfile" 2>/dev/null || true
    fi
    if ! pa list short sinks | grep -q $'\tvc_sink\t'; then
        pa load-module module-null-sink sink_name=vc_sink rate=16000 channels=1 >/dev/null
    fi
    pa set-default-sink vc_sink
    pa set-default-source vc_sink.monitor
    if ! alive "$pacat_pidfile" pacat; then
        env -u PULSE_SERVER XDG_RUNTIME_DIR="$dir" nohup pacat --playback --raw --rate=16000 --channels=1 \
            --format=s16le --latency-msec=20 --device=vc_sink /dev/zero </dev/null >/dev/null 2>&1 &
        echo $! >"$pacat_pidfile"
    fi
    wait_for 10 ready || die "the silence stream did not start; see $log"
    echo "virtual-audio: running in $dir (export XDG_RUNTIME_DIR=$dir)"
}

stop() {
    local stopped=0
    if alive "$pacat_pidfile" pacat; then
        kill "$(<"$pacat_pidfile")" 2>/dev/null || true
        stopped=1
    fi
    rm -f "$pacat_pidfile"
    if [[ -s $server_pidfile ]]; then
        if server_up; then
            env -u PULSE_SERVER XDG_RUNTIME_DIR="$dir" pulseaudio --kill 2>/dev/null || true
            wait_for 10 server_down || true
        fi
        rm -f "$server_pidfile"
        stopped=1
    fi
    if ((stopped)); then
        echo "virtual-audio: stopped in $dir"
    else
        echo "virtual-audio: nothing of ours running in $dir"
    fi
}

status() {
    if ready; then
        echo "virtual-audio: running in $dir (sink vc_sink, source vc_sink.monitor)"
    elif server_up; then
        echo "virtual-audio: a server answers in $dir but vc_sink or the silence stream is missing"
        return 1
    else
        echo "virtual-audio: not running in $dir"
        return 1
    fi
}

case $cmd in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status [RUNTIME_DIR]" >&2; exit 2 ;;
esac
