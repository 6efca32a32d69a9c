#!/usr/bin/zsh -f
# usage: zsh -f cap.zsh FPATH_DIR LINE  -> prints the completions zsh offers
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PROMPT='' RPROMPT='' ; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -d /dev/null"
zpty -w z "compadd () { builtin compadd -O __hits \"\$@\"; (( \${#__hits} )) && print -lr -- '<hit>'\${^__hits}; builtin compadd \"\$@\" }"
zpty -w z "zstyle ':completion:*' list-prompt ''; zstyle ':completion:*' menu no; zstyle ':completion:*' list-lines 0"
zpty -w z "bindkey '^I' complete-word; bindkey '^X' send-break"
zpty -w z "print '<ready>'"
zpty -r z line '*<ready>*'
zpty -w -n z "$2"$'\t'
zpty -w -n z $'\C-x'
zpty -w z "print '<done>'"
while zpty -r -t z line; do :; done
out=""
while zpty -r z line; do
  out+="$line"
  [[ $line == *'<done>'* ]] && break
done
print -r -- "$out" | tr '\r' '\n' | grep -a '<hit>' | sed 's/.*<hit>//' | sort -u
zpty -d z
