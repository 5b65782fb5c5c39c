# Shared by the end-to-end scripts: TAP output helpers.
# check NAME CMD...      runs CMD; ok if it succeeds
# check_eq NAME GOT WANT ok if equal
_n=0
_failed=0
check() {
	_name=$1
	shift
	_n=$((_n + 1))
	if "$@" >/dev/null 2>&1; then
		echo "ok $_n - $_name"
	else
		echo "not ok $_n - $_name"
		_failed=$((_failed + 1))
	fi
}
check_eq() {
	_n=$((_n + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $_n - $1"
	else
		echo "not ok $_n - $1 (got '$2', want '$3')"
		_failed=$((_failed + 1))
	fi
}
done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}
