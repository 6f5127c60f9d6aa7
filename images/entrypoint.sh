#!/bin/sh
# sparkhub-entrypoint: turns the environment the spawner gives a server
# into Spark's configuration, then runs Jupyter.
#
# It has sparkhub_contents.sparkconf write $SPARK_CONF_DIR/spark-defaults.conf
# (the master, the executor image, sizes, dynamic allocation with the
# external shuffle service, the profile's role and constraints, and the
# driver's host and ports, which are the task's own), exports what
# libmesos reads (LIBPROCESS_*), and execs its arguments. Arguments that start with '-' are Jupyter's: they
# go to $SPARKHUB_JUPYTER_COMMAND (default jupyter-notebook), after the
# options that lead back to the hub (sparkhub_contents' logout handler
# and server extensions) when the hub started the server
# (SPARKHUB_BASE_URL is set). With no arguments it runs that command
# alone.
#
# A server the hub started on Mesos has no token in its task, only a
# single-use credential (SPARKHUB_BOOTSTRAP_CREDENTIAL): then the command
# runs through sparkhub_contents.bootstrap ($SPARKHUB_PYTHON, default
# python3), which first fetches the server's tokens from the hub
# (SPARKHUB_BOOTSTRAP_URL), and runs nothing when the hub refuses.
#
# The variable names are defined, and rendered from a profile, in
# images/sparkenv.go; that file says what each one means.
set -eu

die() {
	printf 'sparkhub-entrypoint: %s\n' "$*" >&2
	exit 64
}

# given OPTION ARG...: whether an ARG sets OPTION (--Class.name, or
# --Class.name=key for one key of a mapping).
given() {
	want=$1
	shift
	for arg in "$@"; do
		case $arg in
		"$want="*) return 0 ;;
		esac
	done
	return 1
}

# Spark's configuration: sparkhub_contents.sparkconf writes
# spark-defaults.conf from the variables and prints the ones to export
# (libmesos', SPARK_LOCAL_IP; NAME=VALUE lines). The server extension runs the same code for
# servers started without this script.
python=${SPARKHUB_PYTHON:-python3}
exports=$("$python" -m sparkhub_contents.sparkconf) || die "no Spark configuration written"
while IFS= read -r line; do
	case $line in
	LIBPROCESS_*=* | SPARK_LOCAL_IP=*) export "${line?}" ;;
	esac
done <<EOF
$exports
EOF

jupyter=${SPARKHUB_JUPYTER_COMMAND:-jupyter-notebook}
if [ $# -eq 0 ]; then
	set -- "$jupyter"
else
	case $1 in
	-*)
		if [ -n "${SPARKHUB_BASE_URL:-}" ]; then
			# A server of the hub's: Jupyter's Logout logs out of the hub
			# too, notebook 6's pages link to the hub's home, and the
			# server answers the hub's proof. Each Jupyter reads the
			# spellings it knows. An option the arguments set already
			# (the hub's spawner gives them too) is left to them:
			# Jupyter refuses a one-valued option given twice. Added
			# last first, so they keep this order.
			logout=sparkhub_contents.HubLogoutHandler
			for opt in --ServerApp.jpserver_extensions=sparkhub_contents.server_hub=True \
				--NotebookApp.nbserver_extensions=sparkhub_contents.notebook6_hub=True \
				"--IdentityProvider.logout_handler_class=$logout" \
				"--ServerApp.logout_handler_class=$logout" \
				"--NotebookApp.logout_handler_class=$logout"; do
				given "${opt%=*}" "$@" || set -- "$opt" "$@"
			done
		fi
		set -- "$jupyter" "$@"
		;;
	esac
fi
if [ -n "${SPARKHUB_BOOTSTRAP_CREDENTIAL:-}" ]; then
	exec "$python" -m sparkhub_contents.bootstrap "$@"
fi
exec "$@"
