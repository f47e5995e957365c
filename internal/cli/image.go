package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newImageCommand is replaced by the real command as it lands.
func newImageCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "image",
		Short: "(not built yet)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("peapod image is not built yet")
		},
	}
}
