//! Numbered schema migrations. Append only: a released migration never changes.
//! `PRAGMA user_version` records how many have run.

pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: services, revisions, operations and their event timeline.
    r#"
    CREATE TABLE services (
        id               TEXT PRIMARY KEY,
        name             TEXT NOT NULL UNIQUE,
        source_kind      TEXT NOT NULL,
        active_revision  TEXT,
        desired_revision TEXT,
        paused           INTEGER NOT NULL DEFAULT 0,
        deleting         INTEGER NOT NULL DEFAULT 0,
        created_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL
    );
    CREATE TABLE revisions (
        id          TEXT PRIMARY KEY,
        service_id  TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
        number      INTEGER NOT NULL,
        source      TEXT NOT NULL,
        config      TEXT NOT NULL,
        status      TEXT NOT NULL,
        failure     TEXT,
        created_at  TEXT NOT NULL,
        UNIQUE (service_id, number)
    );
    CREATE TABLE operations (
        id           TEXT PRIMARY KEY,
        service_id   TEXT NOT NULL,
        service_name TEXT NOT NULL,
        kind         TEXT NOT NULL,
        status       TEXT NOT NULL,
        revision_id  TEXT,
        error        TEXT,
        created_at   TEXT NOT NULL,
        ended_at     TEXT
    );
    CREATE INDEX operations_by_service ON operations(service_id, created_at);
    CREATE TABLE operation_events (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        operation_id TEXT NOT NULL REFERENCES operations(id) ON DELETE CASCADE,
        at           TEXT NOT NULL,
        level        TEXT NOT NULL,
        message      TEXT NOT NULL
    );
    CREATE INDEX events_by_operation ON operation_events(operation_id, seq);
    "#,
    // 2: security reports (Dockerfile lint, vulnerabilities, image lint) per revision.
    r#"
    CREATE TABLE reports (
        revision_id TEXT NOT NULL REFERENCES revisions(id) ON DELETE CASCADE,
        kind        TEXT NOT NULL,
        blocked     INTEGER NOT NULL,
        summary     TEXT NOT NULL,
        body        TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (revision_id, kind)
    );
    "#,
    // 3: host ownership (each host routes to one service, enforced here rather than
    // checked and then written) and the build state of revisions (the build
    // reconciler's, replacing marker files).
    r#"
    CREATE TABLE hosts (
        host       TEXT PRIMARY KEY,
        service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE
    );
    CREATE INDEX hosts_by_service ON hosts(service_id);
    INSERT OR IGNORE INTO hosts (host, service_id)
        SELECT lower(name) || '.localhost', id FROM services;
    INSERT OR IGNORE INTO hosts (host, service_id)
        SELECT lower(d.value), s.id
        FROM services s
        JOIN revisions r ON r.service_id = s.id
            AND (r.id = s.active_revision OR r.id = s.desired_revision),
        json_each(r.config, '$.domains') d;
    ALTER TABLE revisions ADD COLUMN build TEXT NOT NULL DEFAULT 'pending';
    ALTER TABLE revisions ADD COLUMN build_plan TEXT;
    UPDATE revisions SET build = 'built' WHERE status IN ('ACTIVE', 'INACTIVE');
    UPDATE revisions SET build = 'failed' WHERE status = 'FAILED';
    "#,
    // 4: scoped tokens for ferry's registry: only a hash of the secret is kept; the
    // repository globs are JSON arrays.
    r#"
    CREATE TABLE registry_tokens (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL,
        secret_sha256 TEXT NOT NULL UNIQUE,
        pull          TEXT NOT NULL,
        push          TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        expires_at    TEXT,
        revoked_at    TEXT
    );
    "#,
    // 5: push-to-deploy: the image tag
    // a service follows, whether pushes to it deploy, how often a remote registry is
    // polled, the credentials to reach it, and the digest the trigger last acted on.
    r#"
    CREATE TABLE image_follows (
        service_id   TEXT PRIMARY KEY REFERENCES services(id) ON DELETE CASCADE,
        image        TEXT NOT NULL,
        auto_deploy  INTEGER NOT NULL,
        poll_ms      INTEGER,
        username     TEXT,
        password     TEXT,
        acted_digest TEXT
    );
    "#,
    // 6: autoscaling: the knobs `ferry scale` set for a service (a JSON object laid
    // over the active revision's [scaling]) and the autoscaler's last desired count, so
    // a service at zero stays at zero across a restart and resume restores the count.
    r#"
    CREATE TABLE service_scaling (
        service_id TEXT PRIMARY KEY REFERENCES services(id) ON DELETE CASCADE,
        overrides  TEXT NOT NULL DEFAULT '{}',
        desired    INTEGER
    );
    "#,
    // 7: git sources: the repository, branch and sub-directory a service follows, how
    // it is polled, the webhook secret, the CLI's overrides applied to every build, and
    // the upstream head last acted on; the commit a revision was built from; when each
    // build started and ended (for `ferry builds`).
    r#"
    CREATE TABLE git_follows (
        service_id      TEXT PRIMARY KEY REFERENCES services(id) ON DELETE CASCADE,
        url             TEXT,
        branch          TEXT NOT NULL,
        subdir          TEXT,
        poll_ms         INTEGER,
        webhook_secret  TEXT NOT NULL,
        overrides       TEXT NOT NULL,
        upstream_commit TEXT
    );
    ALTER TABLE revisions ADD COLUMN git_commit TEXT;
    ALTER TABLE revisions ADD COLUMN build_started_at TEXT;
    ALTER TABLE revisions ADD COLUMN build_ended_at TEXT;
    "#,
    // 8: the revisions whose deployment a `git push` waits for (ferry's remote builds
    // in a pre-receive hook): a push ends with the server that ran it, so a start-up
    // gives up those still pending, and the branch keeps naming what serves.
    r#"
    ALTER TABLE revisions ADD COLUMN awaiting_push INTEGER NOT NULL DEFAULT 0;
    "#,
];
