#!/bin/sh
# embed_web.sh EMBED DIR RULES.md > web.c: the console's bundle (DIR: index.html and every
# .js and .css file esbuild wrote) and the rule reference as one C table, web_assets[],
# looked up by file name (http/console.c).
set -eu
EMBED=$1
DIR=$2
RULES=$3
"$EMBED" web_index_html <"$DIR/index.html"
i=0
table=""
for f in "$DIR"/*.js "$DIR"/*.css "$RULES"; do
	[ -f "$f" ] || continue
	name=$(basename "$f")
	[ "$f" = "$RULES" ] && name=rules.md
	"$EMBED" "web_asset_$i" <"$f"
	table="$table	{\"$name\", web_asset_$i, &web_asset_${i}_len},
"
	i=$((i + 1))
done
cat <<C
struct web_asset {
	const char *name;
	const char *data;
	const size_t *len;
};
extern const struct web_asset web_assets[];
extern const size_t web_nassets;
const struct web_asset web_assets[] = {
$table};
const size_t web_nassets = $i;
C
