# man_splice.awk — puts the parts fusebox-top --man prints into the man
# page, each between its ".\" BEGIN GENERATED name" and ".\" END
# GENERATED name" lines, which the page must already have (a new part is
# placed by hand once, where its prose belongs).
#   awk -f tui/man_splice.awk PARTS man/fusebox-top.1 > NEW
FNR == NR {
	if ($0 ~ /^\.\\" BEGIN GENERATED /) {
		name = $4
		order[++nparts] = name
	}
	part[name] = part[name] $0 "\n"
	next
}
$0 ~ /^\.\\" BEGIN GENERATED / {
	name = $4
	if (!(name in part)) {
		print "man_splice: the page has a part fusebox-top --man does not print: " name > "/dev/stderr"
		bad = 1
	}
	printf "%s", part[name]
	done[name] = 1
	skipping = 1
	next
}
skipping && $0 ~ /^\.\\" END GENERATED / { skipping = 0; next }
skipping { next }
{ print }
END {
	for (i = 1; i <= nparts; i++)
		if (!(order[i] in done)) {
			print "man_splice: no place in the page for part " order[i] \
			      " (add its BEGIN/END GENERATED lines)" > "/dev/stderr"
			bad = 1
		}
	exit bad
}
