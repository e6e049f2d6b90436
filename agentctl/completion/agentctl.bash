# bash completion for agentctl(1)                          -*- shell-script -*-
# SPDX-License-Identifier: MIT
#
# Completes verbs, options, signal names, states, and agent names (asked
# from the running agentd with `agentctl status`, respecting --runtime-dir).

_agentctl_agents()
{
	local rd=() i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		case ${COMP_WORDS[i]} in
		--runtime-dir) rd=(--runtime-dir "${COMP_WORDS[i + 1]}") ;;
		--runtime-dir=*) rd=("${COMP_WORDS[i]}") ;;
		esac
	done
	"${COMP_WORDS[0]}" "${rd[@]}" --timeout 1s status 2>/dev/null |
		awk 'NR > 1 { print $1 }'
}

_agentctl_groups()
{
	local rd=() i
	for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
		[[ ${COMP_WORDS[i]} == --runtime-dir ]] &&
			rd=(--runtime-dir "${COMP_WORDS[i + 1]}")
	done
	"${COMP_WORDS[0]}" "${rd[@]}" --timeout 1s status 2>/dev/null |
		awk 'NR > 1 && $2 != "-" { print $2 }' | sort -u
}

_agentctl()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null; then
		_init_completion || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	local verbs='status list tree start stop restart kill reset-failed reload
		shutdown send call ping wait watch logs'
	local global_opts='--runtime-dir --json --timeout --help --version'

	case $prev in
	--runtime-dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	--timeout)
		COMPREPLY=($(compgen -W '1s 5s 10s 30s 1min' -- "$cur"))
		return
		;;
	-s | --signal)
		COMPREPLY=($(compgen -W 'TERM KILL HUP INT QUIT USR1 USR2 STOP CONT' -- "$cur"))
		return
		;;
	--state)
		COMPREPLY=($(compgen -W 'inactive starting running stopping backoff failed done' -- "$cur"))
		return
		;;
	--group)
		COMPREPLY=($(compgen -W "$(_agentctl_groups)" -- "$cur"))
		return
		;;
	-n | --lines)
		return
		;;
	esac

	# Find the verb: the first word that is not an option or its argument.
	local i verb= nargs=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--runtime-dir | --timeout | --group | --state | -s | --signal | -n | --lines)
			((i++))
			;;
		-*) ;;
		*)
			if [[ -z $verb ]]; then
				verb=${words[i]}
			else
				((nargs++))
			fi
			;;
		esac
	done

	if [[ -z $verb ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
		fi
		return
	fi

	local opts=$global_opts
	case $verb in
	start | stop | restart | reset-failed) opts+=' --group' ;;
	kill) opts+=' --signal -s' ;;
	wait) opts+=' --state' ;;
	logs) opts+=' --lines -n --follow -f' ;;
	watch) opts+=' --since --count' ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi

	case $verb in
	status | list | tree | start | stop | restart | kill | reset-failed | ping | wait | watch)
		COMPREPLY=($(compgen -W "$(_agentctl_agents)" -- "$cur"))
		;;
	send | call | logs)
		# NAME first; KIND and JSON are free text.
		((nargs == 0)) &&
			COMPREPLY=($(compgen -W "$(_agentctl_agents)" -- "$cur"))
		;;
	esac
}
complete -F _agentctl agentctl
