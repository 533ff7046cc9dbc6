namespace LlmTasks.Storage.Sqlite;

/// <summary>
/// Forward-only schema migrations. Each runs once, in its own transaction, and records its
/// version in schema_version. Never edit a shipped migration: add the next one.
/// </summary>
internal static class SqliteMigrations
{
    public static readonly IReadOnlyList<(int Version, string Description, string Sql)> All =
    [
        (1, "tasks and attempts", """
            CREATE TABLE tasks (
                id               INTEGER PRIMARY KEY AUTOINCREMENT,
                instance_id      TEXT    NOT NULL UNIQUE,
                name             TEXT COLLATE NOCASE,
                state            TEXT    NOT NULL,
                model            TEXT    NOT NULL,
                provider         TEXT    NOT NULL,
                prompt           TEXT    NOT NULL,
                request_json     TEXT    NOT NULL,
                output           TEXT,
                error            TEXT,
                error_kind       TEXT,
                attempts         INTEGER NOT NULL DEFAULT 0,
                input_tokens     INTEGER,
                output_tokens    INTEGER,
                cost_nanousd     INTEGER,
                created_at       INTEGER NOT NULL,
                started_at       INTEGER,
                completed_at     INTEGER,
                lease_owner      TEXT,
                lease_expires_at INTEGER,
                cancel_requested INTEGER NOT NULL DEFAULT 0,
                recoveries       INTEGER NOT NULL DEFAULT 0
            );
            CREATE INDEX ix_tasks_state_id   ON tasks (state, id);
            CREATE INDEX ix_tasks_name       ON tasks (name) WHERE name IS NOT NULL;
            CREATE INDEX ix_tasks_created    ON tasks (created_at);
            CREATE INDEX ix_tasks_completed  ON tasks (completed_at) WHERE completed_at IS NOT NULL;
            CREATE INDEX ix_tasks_lease      ON tasks (lease_owner) WHERE lease_owner IS NOT NULL;
            CREATE INDEX ix_tasks_claimable  ON tasks (lease_expires_at, id) WHERE state IN ('Pending', 'Running');

            CREATE TABLE attempts (
                id            INTEGER PRIMARY KEY,
                task_id       INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
                number        INTEGER NOT NULL,
                outcome       TEXT    NOT NULL,
                request_json  TEXT,
                output        TEXT,
                error         TEXT,
                error_kind    TEXT,
                started_at    INTEGER NOT NULL,
                latency_ms    REAL,
                input_tokens  INTEGER,
                output_tokens INTEGER,
                cost_nanousd  INTEGER,
                owner         TEXT
            );
            CREATE INDEX ix_attempts_task ON attempts (task_id, number);
            """),
        (2, "structured output and attempt details", """
            ALTER TABLE tasks ADD COLUMN structured_output TEXT;
            ALTER TABLE attempts ADD COLUMN structured_output TEXT;
            ALTER TABLE attempts ADD COLUMN details TEXT;
            """),
        (3, "verification check results", """
            CREATE TABLE checks (
                id          INTEGER PRIMARY KEY,
                task_id     INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
                attempt     INTEGER NOT NULL,
                position    INTEGER NOT NULL,
                type        TEXT    NOT NULL,
                name        TEXT,
                passed      INTEGER NOT NULL,
                reason      TEXT,
                suggestion  TEXT,
                details     TEXT,
                duration_ms REAL,
                unavailable INTEGER NOT NULL DEFAULT 0,
                created_at  INTEGER NOT NULL
            );
            CREATE INDEX ix_checks_task ON checks (task_id, attempt);
            """),
        (4, "streamed partial output, time to first token, check error kinds", """
            ALTER TABLE tasks ADD COLUMN partial_output TEXT;
            ALTER TABLE attempts ADD COLUMN first_token_ms REAL;
            ALTER TABLE checks ADD COLUMN error_kind TEXT;
            """),
        (5, "provider batches", """
            CREATE TABLE batches (
                id                INTEGER PRIMARY KEY AUTOINCREMENT,
                provider          TEXT    NOT NULL,
                model             TEXT    NOT NULL,
                endpoint          TEXT,
                provider_batch_id TEXT,
                state             TEXT    NOT NULL,
                provider_status   TEXT,
                request_count     INTEGER NOT NULL DEFAULT 0,
                completed_count   INTEGER NOT NULL DEFAULT 0,
                failed_count      INTEGER NOT NULL DEFAULT 0,
                created_at        INTEGER NOT NULL,
                submitted_at      INTEGER,
                expires_at        INTEGER,
                ended_at          INTEGER,
                cost_nanousd      INTEGER,
                error             TEXT,
                details           TEXT,
                lease_owner       TEXT,
                lease_expires_at  INTEGER
            );
            CREATE INDEX ix_batches_unfinished ON batches (id) WHERE state IN ('Submitting', 'Validating', 'InProgress', 'Finalizing', 'Cancelling');
            ALTER TABLE tasks ADD COLUMN batch_id INTEGER;
            CREATE INDEX ix_tasks_batch ON tasks (batch_id) WHERE batch_id IS NOT NULL;
            """),
        (6, "budgets", """
            CREATE TABLE budgets (
                id               INTEGER PRIMARY KEY AUTOINCREMENT,
                scope            TEXT    NOT NULL COLLATE NOCASE,
                period           TEXT    NOT NULL,
                max_cost_nanousd INTEGER NOT NULL,
                updated_at       INTEGER NOT NULL,
                UNIQUE (scope, period)
            );
            CREATE INDEX ix_attempts_started ON attempts (started_at);
            """),
    ];

    public static int Latest => All[^1].Version;
}
