#!/bin/sh
# Turns the numbered migrations in schema/ into a C array so the bridge and
# the admin CLI carry their schema with them. Usage: embed-sql.sh FILE...
set -eu
echo '/* Generated from the SQL files in schema/ by tools/embed-sql.sh. */'
echo '#include "db.h"'
echo 'const struct chat_migration chat_migrations[] = {'
for f in "$@"; do
	name=$(basename "$f")
	version=$(echo "$name" | sed 's/^0*\([0-9][0-9]*\)_.*/\1/')
	echo "	{ $version, \"$name\","
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/	  "/' -e 's/$/\\n"/' "$f"
	echo "	},"
done
echo '};'
echo 'const int chat_migration_count ='
echo '	(int)(sizeof(chat_migrations) / sizeof(chat_migrations[0]));'
