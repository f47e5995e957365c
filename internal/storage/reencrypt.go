package storage

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// RewriteStale rewrites every value under prefix whose stored form is
// stale for the store's transformer: plain values where encryption is now
// on, and values encrypted with a key that is no longer the first one. Use
// it after adding or rotating a key (ReencryptSecrets). Each rewrite is a
// transaction on the value's ModRevision, so a concurrent update wins and
// is not lost; the rewritten objects get a new resourceVersion.
func (s *Store) RewriteStale(ctx context.Context, prefix string) (rewritten int, err error) {
	prefix = listPrefix(prefix)
	rangeEnd := clientv3.GetPrefixRangeEnd(prefix)
	from := prefix
	for {
		resp, err := s.client.Get(ctx, from, clientv3.WithRange(rangeEnd), clientv3.WithLimit(500))
		if err != nil {
			return rewritten, wrapErr(prefix, err)
		}
		for _, kv := range resp.Kvs {
			key := string(kv.Key)
			plain, stale, err := s.untransform(ctx, key, kv.Value)
			if err != nil {
				return rewritten, err
			}
			if !stale {
				continue
			}
			stored, err := s.transformer.TransformToStorage(ctx, plain, key)
			if err != nil {
				return rewritten, err
			}
			txn, err := s.client.Txn(ctx).
				If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
				Then(clientv3.OpPut(key, string(stored))).
				Commit()
			if err != nil {
				return rewritten, wrapErr(key, err)
			}
			if txn.Succeeded {
				rewritten++
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return rewritten, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// ReencryptSecrets rewrites the Secrets that are not encrypted with the
// primary key (see docs/storage.md, "Rotating the encryption key").
func (s *Store) ReencryptSecrets(ctx context.Context) (int, error) {
	return s.RewriteStale(ctx, "/registry/secrets/")
}
