package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newAgentCommand is replaced by the real command as it lands.
func newAgentCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "agent",
		Short: "(not built yet)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("peapod agent is not built yet")
		},
	}
}
