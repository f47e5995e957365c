// Package image is the node's content-addressed image store.
//
// Layout under the store directory (by default <data-dir>/images):
//
//	lock                          flock(2) taken by every writer (and shared by mounts)
//	index.json                    images: ID, names, layers, config; replaced atomically
//	blobs/sha256/<hex>            image configs and manifests by digest
//	layers/<diffid-hex>/rootfs    each layer unpacked once (overlay lower dir)
//	layers/<diffid-hex>/size      the layer's uncompressed tar size
//	mounts/<hash>                 which container dir mounts which image (in-use check)
//	pins/<pid>-<n>                layers a pull or import in progress needs (Remove spares them)
//	tmp/                          imports and unpacks in progress
//
// An image's ID is its config digest ("sha256:<hex>"). A container's root
// filesystem is an overlay mount with the image's layers as lower dirs and a
// per-container upper dir (MountRootfs). Several processes may share one store
// (the agent and `peapod image import`): writers serialise on the lock file,
// readers see index.json replaced by rename, and each layer is unpacked into a
// temporary directory that is renamed into place, so it is unpacked only once.
package image
