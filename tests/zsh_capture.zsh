#!/usr/bin/zsh -f
# What zsh offers for a command line: an interactive zsh on a pseudo-
# terminal, with compinit (no dump file) and the completion directory first
# in fpath, gets LINE and a TAB; compadd is wrapped to print each match.
#   zsh -f zsh_capture.zsh FPATH_DIR LINE
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PROMPT='' RPROMPT='' ; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "compadd () { builtin compadd -O __hits \"\$@\"; (( \${#__hits} )) && print -lr -- '<h''it>'\${^__hits}; builtin compadd \"\$@\" }"
zpty -w z "zstyle ':completion:*' list-prompt ''; zstyle ':completion:*' menu no; zstyle ':completion:*' list-lines 0"
zpty -w z "bindkey '^I' complete-word; bindkey '^U' kill-whole-line"
# The markers are split in the commands ('<rea''dy>') so that only their
# output matches, never the terminal's echo of the command: the TAB must
# reach the line editor at a prompt, after everything above has run...
zpty -w z "zle-line-init() { print -n '<z''le>' }; zle -N zle-line-init"
zpty -w z "print '<rea''dy>'"
# ...and the line editor has started again after it (input typed before
# that may be flushed when the terminal leaves cooked mode).
zpty -r z line '*<ready>*<zle>*'
zpty -w -n z "$2"$'\t'
zpty -w -n z $'\C-u'
zpty -w z "print '<do''ne>'"
out=""
while zpty -r z line; do
  out+="$line"
  [[ $line == *'<done>'* ]] && break
done
print -r -- "$out" | tr '\r' '\n' | grep -a '<hit>' | sed 's/.*<hit>//' | sort -u
zpty -d z
