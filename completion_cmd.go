package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// Shell completion asks rayvens itself for candidates (urfave/cli's
// --generate-bash-completion), so it follows the commands and flags as they
// are; with no candidate it falls back to file names (scripts).
const bashCompletion = `# bash completion for rayvens; load it with: source <(rayvens completion bash)
_rayvens() {
  local cur="${COMP_WORDS[COMP_CWORD]}" IFS=$'\n' opts
  if [[ "$cur" == -* ]]; then
    opts=$("${COMP_WORDS[@]:0:COMP_CWORD}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${COMP_WORDS[@]:0:COMP_CWORD}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _rayvens rayvens
`

const zshCompletion = `#compdef rayvens
# zsh completion for rayvens; load it with: source <(rayvens completion zsh)
_rayvens() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _rayvens rayvens
`

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script for bash, zsh or fish",
		ArgsUsage: "SHELL",
		Action: func(c *cli.Context) error {
			switch shell := c.Args().First(); shell {
			case "bash":
				_, err := fmt.Fprint(c.App.Writer, bashCompletion)
				return err
			case "zsh":
				_, err := fmt.Fprint(c.App.Writer, zshCompletion)
				return err
			case "fish":
				script, err := c.App.ToFishCompletion()
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(c.App.Writer, "# fish completion for rayvens; load it with: rayvens completion fish | source\n"+script)
				return err
			case "":
				return usageError{fmt.Errorf("completion: missing SHELL (bash, zsh or fish)")}
			default:
				return usageError{fmt.Errorf("completion: unknown shell %q (want bash, zsh or fish)", shell)}
			}
		},
	}
}
