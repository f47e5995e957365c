package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newServerCommand is replaced by the real command as it lands.
func newServerCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "server",
		Short: "(not built yet)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("peapod server is not built yet")
		},
	}
}
