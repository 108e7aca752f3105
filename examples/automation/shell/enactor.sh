#!/bin/sh
# A user's DNS enactor in shell, written against dnslab's automation contract (docs/automation.md): nsupdate
# for TSIG-signed RFC 2136 updates, dig to read the primary, jq for the plans, events as JSON lines on stdout.
#
#   sh enactor.sh racy   one freshness check, then blind change sets from each endpoint's active plan;
#                        clean-up deletes plans older than (applied - keep) and the addresses of endpoints
#                        whose plan it deleted (the design behind the us-east-1 outage, October 2025)
#   sh enactor.sh safe   every write carries an nsupdate prerequisite on the endpoint's marker (TXT "gen=N"
#                        as read just before): a stale plan can never win; clean-up keeps plans in use
#
#   dnslab run playbooks/aws-2025-dynamodb-enactor-race.yml --set enactor.command="sh examples/automation/shell/enactor.sh safe"
set -u
MODE=${1:-safe}
ENDPOINTS=$(jq -r '.regions | to_entries | sort_by(.key) | .[].value.endpoints[]' "$DNSLAB_CONFIG")

emit() {  # emit EVENT 'JSON fields without braces'
    printf '{"t": %s, "event": "%s"%s}\n' "$(date +%s.%N)" "$1" "${2:+, $2}"
}

load_settings() {  # the plan store's settings.json over the config's settings, into shell variables
    want='@sh "PACE=\(.apply_pace) TTL=\(.ttl) KEEP=\(.keep) POLL=\(.poll) RUNNING=\(.running) EPOCH=\(.epoch // "null")"'
    if [ -f "$DNSLAB_SETTINGS" ]; then
        eval "$(jq -r --slurpfile c "$DNSLAB_CONFIG" "\$c[0].settings + . | $want" "$DNSLAB_SETTINGS")"
    else
        eval "$(jq -r ".settings | $want" "$DNSLAB_CONFIG")"
    fi
}

STATE=""
status() {  # written when it changes: a reset waits for "held" with its epoch
    [ "$1 $EPOCH" != "$STATE" ] || return 0
    STATE="$1 $EPOCH"
    printf '{"state": "%s", "epoch": %s}\n' "$1" "$EPOCH" > "$DNSLAB_STATUS.tmp" && mv "$DNSLAB_STATUS.tmp" "$DNSLAB_STATUS"
}

plan_file() { printf '%s/gen-%06d.json' "$DNSLAB_PLANS" "$1"; }
generations() { ls "$DNSLAB_PLANS" 2>/dev/null | sed -n 's/^gen-0*\([0-9][0-9]*\)\.json$/\1/p' | sort -n; }
addresses() {  # addresses PLAN_FILE ENDPOINT: the endpoint's addresses in that plan, one line
    jq -r --arg e "$2" '[.plans[] | select(.endpoints | index($e)) | .targets[] | select(.weight > 0)
                         | .address] | join(" ")' "$1" 2>/dev/null
}
rrtype() { case $1 in *:*) T=AAAA ;; *) T=A ;; esac; }  # sets T: a dual-stack plan holds IPv6 addresses too
marker() {  # the generation the primary serves for an endpoint, or nothing
    dig +short +norec +time=1 +tries=2 @"$DNSLAB_PRIMARY" "$1" TXT | awk -F'gen=' '/gen=/ { g = $2 + 0; if (g > m) m = g }
                                                                           END { if (m) print m }'
}
nsupdate_() { nsupdate -k "$DNSLAB_TSIG_KEYFILE" >&2; }  # its chatter is a log: stderr

update_endpoint() {  # update_endpoint ENDPOINT GENERATION "NEW ADDRESSES" -> 0 applied, 2 refused, 9 stuck
    endpoint=$1 gen=$2 new=$3
    seen=$(marker "$endpoint")
    ops=""
    if [ "$MODE" = safe ]; then
        if [ -n "$seen" ] && [ "$seen" -ge "$gen" ]; then return 2; fi
        if [ -n "$seen" ]; then ops="prereq yxrrset $endpoint TXT \"gen=$seen\""; else ops="prereq nxrrset $endpoint TXT"; fi
        ops="$ops
update delete $endpoint A
update delete $endpoint AAAA"
    elif [ -n "$seen" ]; then  # racy: a change set from the active plan, which must still exist
        [ -f "$(plan_file "$seen")" ] || return 9
        for address in $(addresses "$(plan_file "$seen")" "$endpoint"); do
            case " $new " in *" $address "*) ;; *) rrtype "$address"; ops="$ops
update delete $endpoint $T $address" ;; esac
        done
    fi
    for address in $new; do rrtype "$address"; ops="$ops
update add $endpoint $TTL $T $address"; done
    printf 'server %s\nzone %s\n%s\nupdate delete %s TXT\nupdate add %s %s TXT "gen=%s"\nsend\n' \
        "$DNSLAB_PRIMARY" "$DNSLAB_ZONE" "$ops" "$endpoint" "$endpoint" "$TTL" "$gen" | nsupdate_
}

apply() {  # apply GENERATION
    gen=$1 index=0
    emit apply_started "\"generation\": $gen, \"strategy\": \"$MODE\""
    for endpoint in $ENDPOINTS; do
        index=$((index + 1))
        new=$(addresses "$(plan_file "$gen")" "$endpoint")
        sleep "$PACE"  # the lab's knob for how long one endpoint's update takes
        update_endpoint "$endpoint" "$gen" "$new"
        case $? in
            0) emit endpoint_applied "\"generation\": $gen, \"endpoint\": \"$endpoint\", \"index\": $index" ;;
            2) emit refused "\"generation\": $gen, \"endpoint\": \"$endpoint\", \"reason\": \"stale\""
               return 1 ;;  # someone applied this plan or a newer one: the rest of it is stale too
            9) STUCK=1; emit stuck "\"reason\": \"active plan of $endpoint is gone\""; return 1 ;;
            *) emit retry "\"generation\": $gen, \"endpoint\": \"$endpoint\"" ;;
        esac
    done
    emit apply_finished "\"generation\": $gen"
}

cleanup() {  # cleanup APPLIED
    deleted="" files="" removed="" in_use=" "
    for endpoint in $ENDPOINTS; do in_use="$in_use$(marker "$endpoint") "; done
    for gen in $(generations); do
        [ "$gen" -lt $(($1 - KEEP)) ] || break
        if [ "$MODE" = safe ]; then case $in_use in *" $gen "*) continue ;; esac; fi
        files="$files $(plan_file "$gen")" deleted="$deleted${deleted:+, }$gen"
    done
    [ -z "$files" ] || rm -f $files
    if [ "$MODE" = racy ]; then  # the flaw: records of a deleted plan go with it, even if they are all there is
        for endpoint in $ENDPOINTS; do
            seen=$(marker "$endpoint")
            [ -n "$seen" ] && [ ! -f "$(plan_file "$seen")" ] || continue
            printf 'server %s\nzone %s\nupdate delete %s A\nupdate delete %s AAAA\nsend\n' "$DNSLAB_PRIMARY" "$DNSLAB_ZONE" \
                "$endpoint" "$endpoint" \
                | nsupdate_ && removed="$removed${removed:+, }\"$endpoint\""
        done
    fi
    [ -z "$deleted$removed" ] || emit cleanup_deleted "\"generations\": [$deleted], \"endpoints\": [$removed], \"applied\": $1"
}

trap 'exit 0' TERM INT
mkdir -p "$(dirname "$DNSLAB_STATUS")"
handled="" STUCK=0
while :; do
    load_settings
    if [ "$RUNNING" = false ]; then  # the lab holds every role (a reset): say so, touch nothing
        status held; handled="" STUCK=0; sleep 0.1; continue
    fi
    status running
    gen=$(generations | tail -1)
    if [ -n "$gen" ] && { [ "$gen" != "$handled" ] || [ "$STUCK" = 1 ]; }; then
        handled=$gen fresh=1 gone=""
        for endpoint in $ENDPOINTS; do  # the one-time freshness check (and, racy: is any active plan gone?)
            seen=$(marker "$endpoint")
            [ -z "$seen" ] || [ "$seen" -lt "$gen" ] || fresh=0
            [ -z "$seen" ] || [ -f "$(plan_file "$seen")" ] || gone=$endpoint
        done
        if [ "$MODE" = racy ] && [ -n "$gone" ]; then
            [ "$STUCK" = 1 ] || emit stuck "\"reason\": \"active plan of $gone is gone\""
            STUCK=1
        else
            STUCK=0
            if [ "$fresh" = 1 ]; then apply "$gen" && cleanup "$gen"; fi
        fi
    fi
    # jitter: three enactors never move in lockstep
    sleep "$(awk -v p="$POLL" -v seed="$(date +%N)" 'BEGIN { srand(seed); printf "%.3f", p * (0.5 + rand()) }')"
done
