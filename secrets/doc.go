// Package secrets keeps swarm mode's secrets and configs on the managers, and gives tasks their files.
//
// The API (api.go, secrets.go, configs.go, filters.go) answers /secrets and /configs as the Engine API
// documents them: IDs of 25 base-36 characters; lookups by full ID, exact name or unique ID prefix (an
// ambiguous prefix is an errdefs.InvalidParameter, as for services); names unique per kind; only labels
// change after a create; nothing used by a service is removed. Records live in a Store (desired.Store:
// Consul) through a small interface declared here. Each write is one step on this manager (a mutex around
// check and put); clients' writes reach the primary (replicas forward them), so two creates of one name
// cannot both succeed.
//
// At rest: a secret's data is sealed before it reaches the Store, with the managers' Key (key.go): AES-256-GCM,
// kept in a file (`swarm manage --secrets-key FILE`, the same file on every manager), stored as a version byte,
// a random nonce and the ciphertext. The Store, and whoever reads Consul, hold only ciphertext; no API answer
// carries a secret's data. Without a key, secrets are refused (ErrNoKey) and configs, kept in clear, still work.
//
// What a task receives (files.go, archive.go): CheckRefs validates a service's references and fills their
// defaults when the service is created or updated; Files opens what a task gets — each secret at
// /run/secrets/NAME (or an absolute target), each config at its target, with the reference's uid, gid and
// mode — and Archive packs them as a tar archive that the caller extracts into the created container before
// starting it. Unlike swarm mode, which mounts a tmpfs, the files are then in the container's own
// filesystem on its node, where `docker cp`, `docker export` and `docker commit` can read them.
package secrets
