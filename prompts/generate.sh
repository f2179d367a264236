#!/usr/bin/env bash
# Generates the shipped prompt set from a text list with espeak-ng (GPL-3 tool;
# its synthesized output is not a derivative work and ships freely).
#
#   prompts/generate.sh [LANG] [--force]      (default LANG=en)
#
# Reads prompts/<LANG>/prompts.txt (name<TAB>text, '#' comments) and writes
# prompts/<LANG>/<name>.ogg: Ogg Vorbis, 16 kHz mono, leading/trailing silence
# trimmed, peak-normalised to -3 dBFS, 50 ms lead-in / 150 ms tail.
#
# Idempotent: prompts/<LANG>/.generated records a hash of (text, voice,
# settings) per name; a file is regenerated only when that hash changes or
# the file is missing (Vorbis output is not byte-reproducible — the Ogg
# stream serial is random — so "regenerate everything" would churn git).
# --force regenerates all. Names no longer in the list are reported, not
# deleted (hand-recorded replacements may live next to generated files).
#
# Needs: espeak-ng, sox with Vorbis support (Debian: espeak-ng sox libsox-fmt-all).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
lang="en"
force=0
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) lang="$arg" ;;
    esac
done

# espeak-ng voice per language; override with VOICE=... (e.g. en-gb).
case "$lang" in
    en) default_voice="en-us" ;;
    *) default_voice="$lang" ;;
esac
voice="${VOICE:-$default_voice}"
speed="${SPEED:-150}"     # words per minute; 150 is clear on a phone line
rate=16000                # wideband: covers G.722/Opus; 8 kHz is derived at load
quality=3                 # Vorbis -q3 (~40 kb/s at 16 kHz mono): transparent for TTS
settings="v1|$voice|$speed|$rate|q$quality"

dir="$here/$lang"
list="$dir/prompts.txt"
manifest="$dir/.generated"
[ -f "$list" ] || { echo "no $list" >&2; exit 1; }
command -v espeak-ng >/dev/null || { echo "espeak-ng not installed" >&2; exit 1; }
command -v sox >/dev/null || { echo "sox not installed" >&2; exit 1; }

touch "$manifest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
new_manifest="$tmp/manifest"
: > "$new_manifest"

made=0 kept=0
while IFS=$'\t' read -r name text; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    if [[ ! "$name" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]]; then
        echo "skipping bad name '$name'" >&2; continue
    fi
    hash="$(printf '%s|%s' "$settings" "$text" | sha256sum | cut -c1-16)"
    out="$dir/$name.ogg"
    if [ "$force" = 0 ] && [ -f "$out" ] && grep -qxF "$name	$hash" "$manifest"; then
        kept=$((kept + 1))
    else
        espeak-ng -v "$voice" -s "$speed" -w "$tmp/raw.wav" -- "$text"
        # silence/reverse/silence/reverse trims both ends; gain -n normalises.
        sox "$tmp/raw.wav" -r "$rate" -c 1 -C "$quality" "$tmp/out.ogg" \
            silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse \
            gain -n -3 pad 0.05 0.15
        mv "$tmp/out.ogg" "$out"
        made=$((made + 1))
    fi
    printf '%s\t%s\n' "$name" "$hash" >> "$new_manifest"
done < "$list"

sort "$new_manifest" > "$manifest"
for f in "$dir"/*.ogg; do
    n="$(basename "$f" .ogg)"
    cut -f1 "$manifest" | grep -qxF "$n" || echo "note: $f is not in prompts.txt (left alone)"
done
echo "$lang: $made generated, $kept unchanged ($(du -ch "$dir"/*.ogg | tail -1 | cut -f1) total)"
