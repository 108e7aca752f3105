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

emit() {  # emit EVENT 'JSON fields without braces'
    printf '{"t": %s, "event": "%s"%s}\n' "$(date +%s.%N)" "$1" "${2:+, $2}"
}
log() { echo "$DNSLAB_NODE: $*" >&2; }

setting() {  # the plan store's settings.json over the config's settings
    jq -rn --arg k "$1" --slurpfile c "$DNSLAB_CONFIG" \
        '($c[0].settings) + ((try input catch {}) // {}) | .[$k] | if . == null then empty else . end' \
        "$DNSLAB_SETTINGS" 2>/dev/null || jq -r --arg k "$1" '.settings[$k]' "$DNSLAB_CONFIG"
}

status() {
    mkdir -p "$(dirname "$DNSLAB_STATUS")"
    epoch=$(setting epoch)
    printf '{"state": "%s", "epoch": %s, "t": %s}\n' "$1" "${epoch:-null}" "$(date +%s)" \
        > "$DNSLAB_STATUS.tmp" && mv "$DNSLAB_STATUS.tmp" "$DNSLAB_STATUS"
}

endpoints() { jq -r '.regions | to_entries | sort_by(.key) | .[].value.endpoints[]' "$DNSLAB_CONFIG"; }
plan_file() { printf '%s/gen-%06d.json' "$DNSLAB_PLANS" "$1"; }
newest() { ls "$DNSLAB_PLANS" 2>/dev/null | sed -n 's/^gen-0*\([0-9][0-9]*\)\.json$/\1/p' | sort -n | tail -1; }
addresses() {  # addresses PLAN_FILE ENDPOINT
    jq -r --arg e "$2" '.plans[] | select(.endpoints | index($e)) | .targets[] | select(.weight > 0) | .address' \
        "$1" 2>/dev/null | sort
}
marker() {  # the generation the primary serves for an endpoint, or nothing
    dig +short +norec +time=1 +tries=2 @"$DNSLAB_PRIMARY" "$1" TXT | sed -n 's/^"gen=\([0-9]*\)"$/\1/p' | sort -n | tail -1
}

update_endpoint() {  # update_endpoint ENDPOINT GENERATION PLAN_FILE -> nsupdate's exit code (2: prerequisite failed)
    endpoint=$1 gen=$2 plan=$3 ttl=$(setting ttl)
    seen=$(marker "$endpoint")
    {
        echo "server $DNSLAB_PRIMARY"
        echo "zone $DNSLAB_ZONE"
        if [ "$MODE" = safe ]; then
            if [ -n "$seen" ]; then echo "prereq yxrrset $endpoint TXT \"gen=$seen\""; else echo "prereq nxrrset $endpoint TXT"; fi
            echo "update delete $endpoint A"
        elif [ -n "$seen" ]; then  # racy: a change set from the active plan, which must still exist
            active=$(plan_file "$seen")
            [ -f "$active" ] || { echo "STUCK gen=$seen"; return 0; }
            for address in $(addresses "$active" "$endpoint"); do
                addresses "$plan" "$endpoint" | grep -qx "$address" || echo "update delete $endpoint A $address"
            done
        fi
        for address in $(addresses "$plan" "$endpoint"); do echo "update add $endpoint $ttl A $address"; done
        echo "update delete $endpoint TXT"
        echo "update add $endpoint $ttl TXT \"gen=$gen\""
        echo "send"
    } > /tmp/update.txt
    if grep -q '^STUCK' /tmp/update.txt; then return 9; fi
    if [ "$MODE" = safe ] && [ -n "$seen" ] && [ "$seen" -ge "$gen" ]; then return 2; fi
    nsupdate -k "$DNSLAB_TSIG_KEYFILE" /tmp/update.txt >&2
}

apply() {  # apply GENERATION
    gen=$1 plan=$(plan_file "$1") index=0
    emit apply_started "\"generation\": $gen, \"strategy\": \"$MODE\""
    for endpoint in $(endpoints); do
        index=$((index + 1))
        sleep "$(setting apply_pace)"  # the lab's knob for how long one endpoint's update takes
        update_endpoint "$endpoint" "$gen" "$plan"
        case $? in
            0) emit endpoint_applied "\"generation\": $gen, \"endpoint\": \"$endpoint\", \"index\": $index" ;;
            2) emit refused "\"generation\": $gen, \"endpoint\": \"$endpoint\", \"reason\": \"stale\"" ;;
            9) emit stuck "\"reason\": \"active plan of $endpoint is gone\""; STUCK=1; return 1 ;;
            *) emit retry "\"generation\": $gen, \"endpoint\": \"$endpoint\"" ;;
        esac
    done
    emit apply_finished "\"generation\": $gen"
}

cleanup() {  # cleanup APPLIED
    keep=$(setting keep) deleted="" removed="" in_use=""
    for endpoint in $(endpoints); do in_use="$in_use $(marker "$endpoint")"; done
    for file in "$DNSLAB_PLANS"/gen-*.json; do
        [ -e "$file" ] || continue
        gen=$(basename "$file" .json | sed 's/^gen-0*//')
        [ "$gen" -lt $(($1 - keep)) ] || continue
        if [ "$MODE" = safe ] && echo " $in_use " | grep -q " $gen "; then continue; fi
        rm -f "$file" && deleted="$deleted${deleted:+, }$gen"
    done
    if [ "$MODE" = racy ]; then  # the flaw: records of a deleted plan go with it, even if they are all there is
        for endpoint in $(endpoints); do
            seen=$(marker "$endpoint")
            [ -n "$seen" ] && [ ! -f "$(plan_file "$seen")" ] || continue
            printf 'server %s\nzone %s\nupdate delete %s A\nsend\n' "$DNSLAB_PRIMARY" "$DNSLAB_ZONE" "$endpoint" \
                | nsupdate -k "$DNSLAB_TSIG_KEYFILE" >&2 && removed="$removed${removed:+, }\"$endpoint\""
        done
    fi
    [ -z "$deleted$removed" ] || emit cleanup_deleted "\"generations\": [$deleted], \"endpoints\": [$removed], \"applied\": $1"
}

trap 'exit 0' TERM INT
handled="" STUCK=0
while :; do
    if [ "$(setting running)" = false ]; then  # the lab holds every role (a reset): say so, touch nothing
        status held; handled="" STUCK=0; sleep 0.1; continue
    fi
    status running
    gen=$(newest)
    if [ -n "$gen" ] && { [ "$gen" != "$handled" ] || [ "$STUCK" = 1 ]; }; then
        handled=$gen fresh=1 gone=""
        for endpoint in $(endpoints); do  # the one-time freshness check (and, racy, is any active plan gone?)
            seen=$(marker "$endpoint")
            [ -z "$seen" ] || [ "$seen" -lt "$gen" ] || fresh=0
            [ -z "$seen" ] || [ -f "$(plan_file "$seen")" ] || gone=$endpoint
        done
        if [ "$MODE" = racy ] && [ -n "$gone" ]; then
            [ "$STUCK" = 1 ] || emit stuck "\"reason\": \"active plan of $gone is gone\""
            STUCK=1
        elif [ "$fresh" = 1 ]; then
            STUCK=0
            apply "$gen" && cleanup "$gen"
        else
            STUCK=0
        fi
    fi
    sleep "$(setting poll)"
done
