// Package cli is peapod's command tree: one file per command.
package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

// Run builds the command tree and executes it with args. Only main calls os.Exit.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "peapod",
		Short:         "peapod runs Kubernetes Pods on your own machines: API server, scheduler and node agent in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	for _, c := range commands() {
		root.AddCommand(c)
	}
	return root
}
