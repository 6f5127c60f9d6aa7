#!/bin/sh
# sparkhub-entrypoint: turns the environment the spawner gives a server
# into Spark's configuration, then runs Jupyter.
#
# It writes $SPARK_CONF_DIR/spark-defaults.conf (the master, the executor
# image, sizes, dynamic allocation with the external shuffle service, the
# profile's role and constraints, and the driver's host and ports, which
# are the task's own), exports what libmesos reads (LIBPROCESS_*), and
# execs its arguments. Arguments that start with '-' are Jupyter's: they
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

is_port() {
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
	[ "$1" -ge 1 ] && [ "$1" -le 65535 ]
}

is_count() {
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
	return 0
}

nl='
'

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

# conf KEY VALUE: one line of spark-defaults.conf; nothing when VALUE is
# empty.
conf() {
	[ -n "$2" ] || return 0
	case $2 in
	*"$nl"*) die "$1: the value has a line break" ;;
	esac
	printf '%s %s\n' "$1" "$2" >>"$tmp"
}

spark_home=${SPARK_HOME:-/opt/spark}
conf_dir=${SPARK_CONF_DIR:-$spark_home/conf}
mkdir -p "$conf_dir" || die "cannot create $conf_dir"
tmp=$conf_dir/spark-defaults.conf.tmp
: >"$tmp"

master=${SPARKHUB_SPARK_MASTER:-}
agent=${SPARKHUB_AGENT_HOST:-}

{
	printf '# Written by sparkhub-entrypoint for profile %s; rewritten at every start.\n' "${SPARKHUB_PROFILE:-default}"
} >>"$tmp"

if [ -n "$master" ]; then
	case $master in
	mesos://*) ;;
	*) die "SPARKHUB_SPARK_MASTER=$master: want mesos://host:port or mesos://zk://..." ;;
	esac
	for v in SPARKHUB_SPARK_CORES_MAX SPARKHUB_SPARK_EXECUTOR_CORES SPARKHUB_SPARK_MIN_EXECUTORS SPARKHUB_SPARK_MAX_EXECUTORS; do
		eval "val=\${$v:-}"
		if [ -n "$val" ] && ! is_count "$val"; then
			die "$v=$val: want a whole number"
		fi
	done
	conf spark.master "$master"
	conf spark.submit.deployMode client
	conf spark.mesos.coarse true
	conf spark.mesos.executor.docker.image "${SPARKHUB_SPARK_EXECUTOR_IMAGE:-${SPARKHUB_IMAGE:-}}"
	conf spark.mesos.executor.home "$spark_home"
	conf spark.mesos.role "${SPARKHUB_SPARK_ROLE:-}"
	conf spark.mesos.constraints "${SPARKHUB_SPARK_CONSTRAINTS:-}"
	labels=
	[ -z "${SPARKHUB_USER:-}" ] || labels=sparkhub.user:$SPARKHUB_USER
	[ -z "${SPARKHUB_PROFILE:-}" ] || labels=${labels:+$labels,}sparkhub.profile:$SPARKHUB_PROFILE
	conf spark.mesos.task.labels "$labels"
	# Without spark.cores.max an application takes every core offered.
	conf spark.cores.max "${SPARKHUB_SPARK_CORES_MAX:-10}"
	conf spark.executor.cores "${SPARKHUB_SPARK_EXECUTOR_CORES:-1}"
	conf spark.executor.memory "${SPARKHUB_SPARK_EXECUTOR_MEMORY:-}"
	dynamic=${SPARKHUB_SPARK_DYNAMIC_ALLOCATION:-true}
	conf spark.dynamicAllocation.enabled "$dynamic"
	if [ "$dynamic" = true ]; then
		conf spark.dynamicAllocation.minExecutors "${SPARKHUB_SPARK_MIN_EXECUTORS:-0}"
		conf spark.dynamicAllocation.maxExecutors "${SPARKHUB_SPARK_MAX_EXECUTORS:-10}"
	fi
	shuffle=${SPARKHUB_SPARK_SHUFFLE_SERVICE:-$dynamic}
	conf spark.shuffle.service.enabled "$shuffle"
	if [ "$shuffle" = true ]; then
		# The agent's shuffle service reads the executors' files, so they
		# go to a folder of the agent's, at the same path on both sides.
		dir=${SPARKHUB_SPARK_SHUFFLE_DIR:-/var/lib/sparkhub/shuffle}
		conf spark.local.dir "$dir"
		conf spark.mesos.executor.docker.volumes "$dir:$dir:rw"
	fi
else
	# No cluster: Spark runs inside the server on the profile's cores.
	cores=${SPARKHUB_PROFILE_CPUS:-}
	cores=${cores%%.*}
	if is_count "$cores" && [ "$cores" -ge 1 ]; then
		conf spark.master "local[$cores]"
	else
		conf spark.master "local[*]"
	fi
fi
conf spark.driver.memory "${SPARKHUB_SPARK_DRIVER_MEMORY:-}"

if [ -n "$agent" ]; then
	for v in SPARKHUB_SPARK_DRIVER_PORT SPARKHUB_SPARK_BLOCKMANAGER_PORT SPARKHUB_SPARK_UI_PORT; do
		eval "val=\${$v:-}"
		is_port "$val" || die "$v=$val: the task's port is missing or not a port"
	done
	bind=${SPARKHUB_SPARK_BIND_ADDRESS:-$agent}
	# The driver advertises the agent's address and binds the task's
	# own ports; a retry would move to a port that is not the task's,
	# so there is none.
	conf spark.driver.host "$agent"
	conf spark.driver.bindAddress "$bind"
	conf spark.driver.port "$SPARKHUB_SPARK_DRIVER_PORT"
	conf spark.driver.blockManager.port "$SPARKHUB_SPARK_BLOCKMANAGER_PORT"
	conf spark.ui.port "$SPARKHUB_SPARK_UI_PORT"
	conf spark.port.maxRetries 0

	# libmesos in the driver: the master connects back to it.
	LIBPROCESS_IP=${LIBPROCESS_IP:-$bind}
	export LIBPROCESS_IP
	if [ -n "${LIBPROCESS_PORT:-}" ]; then
		is_port "$LIBPROCESS_PORT" || die "LIBPROCESS_PORT=$LIBPROCESS_PORT: not a port"
		export LIBPROCESS_PORT
	fi
	if [ "$LIBPROCESS_IP" = 0.0.0.0 ]; then
		LIBPROCESS_ADVERTISE_IP=${LIBPROCESS_ADVERTISE_IP:-$agent}
		export LIBPROCESS_ADVERTISE_IP
		if [ -n "${LIBPROCESS_PORT:-}" ]; then
			LIBPROCESS_ADVERTISE_PORT=${LIBPROCESS_ADVERTISE_PORT:-$LIBPROCESS_PORT}
			export LIBPROCESS_ADVERTISE_PORT
		fi
	fi
fi

# The profile's own settings, "key value" a line.
if [ -n "${SPARKHUB_SPARK_CONF:-}" ]; then
	printf '%s\n' "$SPARKHUB_SPARK_CONF" | while IFS= read -r line; do
		[ -n "$line" ] || continue
		key=${line%% *}
		case $key in
		spark.?*) ;;
		*) die "SPARKHUB_SPARK_CONF: \"$key\" is not a Spark setting" ;;
		esac
		[ "$key" != "$line" ] || die "SPARKHUB_SPARK_CONF: $key has no value"
		printf '%s\n' "$line" >>"$tmp"
	done
fi

mv "$tmp" "$conf_dir/spark-defaults.conf"

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
	exec "${SPARKHUB_PYTHON:-python3}" -m sparkhub_contents.bootstrap "$@"
fi
exec "$@"
