package cli

import "github.com/spf13/cobra"

// commands lists the sub-commands in the order `peapod --help` shows them.
func commands() []*cobra.Command {
	return []*cobra.Command{
		newServerCommand(),
		newAgentCommand(),
		newImageCommand(),
		newVersionCommand(),
	}
}
