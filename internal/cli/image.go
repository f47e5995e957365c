package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/peapod/peapod/internal/image"
	"github.com/peapod/peapod/internal/runtime"
)

// imageDataDirDefault is where the agent keeps its state; images live in
// <data-dir>/images.
const imageDataDirDefault = "/var/lib/peapod"

// newImageCommand is `peapod image import|pull|ls|rm`.
func newImageCommand() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage the node's images (import, pull, ls, rm)",
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", imageDataDirDefault, "the node's data directory (images are in DATA-DIR/images)")
	open := func(opts ...image.Option) (*image.Store, error) {
		return image.Open(filepath.Join(dataDir, "images"), opts...)
	}
	cmd.AddCommand(
		newImageImportCommand(open),
		newImagePullCommand(open),
		newImageListCommand(open),
		newImageRemoveCommand(open),
	)
	return cmd
}

type openStore func(opts ...image.Option) (*image.Store, error)

func newImageImportCommand(open openStore) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE...",
		Short: "Import docker-archive (docker save) or OCI layout tarballs; - reads standard input",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			for _, a := range args {
				var r io.Reader = cmd.InOrStdin()
				if a != "-" {
					f, err := os.Open(a)
					if err != nil {
						return err
					}
					defer f.Close()
					r = f
				}
				imgs, err := s.Import(cmd.Context(), r)
				for _, im := range imgs {
					fmt.Fprintf(cmd.OutOrStdout(), "imported %s %s\n", imageNames(im), im.ID)
				}
				if err != nil {
					return fmt.Errorf("importing %s: %w", a, err)
				}
			}
			return nil
		},
	}
}

func newImagePullCommand(open openStore) *cobra.Command {
	var auth runtime.AuthConfig
	var insecure bool
	cmd := &cobra.Command{
		Use:   "pull IMAGE",
		Short: "Pull an image from its registry (linux/amd64)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts []image.Option
			if insecure {
				opts = append(opts, image.WithInsecureRegistries())
			}
			s, err := open(opts...)
			if err != nil {
				return err
			}
			if auth.Username != "" && auth.Password == "" {
				return fmt.Errorf("--username needs --password")
			}
			im, err := s.Pull(cmd.Context(), args[0], &auth)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pulled %s %s\n", imageNames(im), im.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&auth.Username, "username", "", "registry user name")
	cmd.Flags().StringVar(&auth.Password, "password", "", "registry password")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "use plain HTTP (test registries)")
	return cmd
}

func newImageListCommand(open openStore) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List images",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			imgs, err := s.List()
			if err != nil {
				return err
			}
			if quiet {
				for _, im := range imgs {
					fmt.Fprintln(cmd.OutOrStdout(), im.ID)
				}
				return nil
			}
			return writeImageTable(cmd.OutOrStdout(), imgs)
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print image IDs only")
	return cmd
}

func newImageRemoveCommand(open openStore) *cobra.Command {
	return &cobra.Command{
		Use:     "rm IMAGE...",
		Aliases: []string{"rmi"},
		Short:   "Remove images (by name, ID or ID prefix) and the layers no other image uses",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			var errs []string
			for _, a := range args {
				im, err := s.Get(a)
				if err == nil {
					err = s.Remove(im.ID)
				}
				if err != nil {
					errs = append(errs, err.Error())
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted %s %s\n", imageNames(im), im.ID)
			}
			if len(errs) > 0 {
				return fmt.Errorf("%s", strings.Join(errs, "; "))
			}
			return nil
		},
	}
}

func imageNames(im *runtime.Image) string {
	if len(im.RepoTags) > 0 {
		return strings.Join(im.RepoTags, ",")
	}
	if len(im.RepoDigests) > 0 {
		return strings.Join(im.RepoDigests, ",")
	}
	return "<none>"
}

// writeImageTable prints images as `crictl images` does: one row per tag
// (or one <none> row), the ID shortened to 13 hex digits, sizes in SI units.
func writeImageTable(w io.Writer, imgs []*runtime.Image) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tTAG\tIMAGE ID\tSIZE")
	for _, im := range imgs {
		id := strings.TrimPrefix(im.ID, "sha256:")
		if len(id) > 13 {
			id = id[:13]
		}
		size := humanSize(im.Size)
		rows := 0
		for _, t := range im.RepoTags {
			repo, tag, _ := image.SplitName(t)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", repo, tag, id, size)
			rows++
		}
		if rows == 0 {
			repo := "<none>"
			if len(im.RepoDigests) > 0 {
				repo, _, _ = image.SplitName(im.RepoDigests[0])
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", repo, "<none>", id, size)
		}
	}
	return tw.Flush()
}

// humanSize formats n bytes with SI units and 3-4 significant digits
// ("2.14MB"), as crictl does.
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.4g%s", f, units[i])
}
