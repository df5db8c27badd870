#!/bin/bash
# check_completion.sh: the bash completion offers exactly the commands and
# subcommands that `mvirt-zfsctl --help` lists, and its global options.
#
#   check_completion.sh COMPLETION_FILE MVIRT_ZFSCTL
set -euo pipefail
completion=$1 ctl=$2
source "$completion"
complete_words() {  # WORDS...: what completing after them offers
  COMP_WORDS=(mvirt-zfsctl "$@" "")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _mvirt_zfsctl
  printf '%s\n' "${COMPREPLY[@]}" | sort
}
help_subcommands() {  # [GROUP]: the subcommands --help lists
  "$ctl" "$@" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NR > 1 && NF {print $1}' | sort
}
status=0
compare() {  # WHAT OFFERED EXPECTED
  if [ "$2" != "$3" ]; then
    echo "completion of $1 offers [$(echo $2)], --help lists [$(echo $3)]"
    status=1
  fi
}
groups=$(help_subcommands)
compare "commands" "$(complete_words)" "$groups"
for group in $groups; do
  compare "'$group'" "$(complete_words "$group")" "$(help_subcommands "$group" || true)"
done
COMP_WORDS=(mvirt-zfsctl --); COMP_CWORD=1; COMPREPLY=(); _mvirt_zfsctl
for option in "${COMPREPLY[@]}"; do
  "$ctl" --help | grep -q -- "$option" || { echo "completion offers $option, --help does not"; status=1; }
done
exit $status
