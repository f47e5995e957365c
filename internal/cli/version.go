package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/peapod/peapod/internal/version"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the peapod version and the Kubernetes API version it serves",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version.Info()
			fmt.Fprintf(cmd.OutOrStdout(), "peapod %s (Kubernetes API v%s.%s, %s)\n", version.GitVersion, v.Major, v.Minor, v.GoVersion)
			return nil
		},
	}
}
