import type { Kysely } from 'kysely';
import type { MigrationDialect } from './dialect.js';

/** The core schema: workspaces, keys, requests with tags/metadata/groups, scores and their history. */
export async function up(db: Kysely<unknown>, d: MigrationDialect): Promise<void> {
  await db.schema
    .createTable('workspaces')
    .addColumn('id', d.idType, (c) => d.identity(c))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', d.idType, (c) => d.identity(c))
    .addColumn('workspace_id', 'bigint', (c) => c.notNull().references('workspaces.id'))
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('api_keys_workspace').on('api_keys').columns(['workspace_id', 'id']).execute();

  await db.schema
    .createTable('requests')
    .addColumn('id', d.idType, (c) => d.identity(c))
    .addColumn('workspace_id', 'bigint', (c) => c.notNull().references('workspaces.id'))
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('function_name', 'text', (c) => c.notNull())
    .addColumn('api_type', 'text')
    .addColumn('input', 'text', (c) => c.notNull())
    .addColumn('output', 'text', (c) => c.notNull())
    .addColumn('parameters', 'text', (c) => c.notNull())
    .addColumn('prompt_name', 'text')
    .addColumn('prompt_id', 'text')
    .addColumn('prompt_version', 'integer')
    .addColumn('prompt_label', 'text')
    .addColumn('prompt_input_variables', 'text', (c) => c.notNull())
    .addColumn('input_tokens', 'integer', (c) => c.notNull())
    .addColumn('output_tokens', 'integer', (c) => c.notNull())
    .addColumn('price', 'double precision', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('error_type', 'text')
    .addColumn('error_message', 'text')
    .addColumn('request_start_time', 'bigint', (c) => c.notNull())
    .addColumn('request_end_time', 'bigint', (c) => c.notNull())
    .addColumn('latency_ms', 'bigint', (c) => c.notNull())
    .addColumn('span_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  // Newest first within a workspace is the default listing and the cursor order.
  await db.schema.createIndex('requests_ws_start').on('requests').columns(['workspace_id', 'request_start_time', 'id']).execute();

  await db.schema
    .createTable('request_tags')
    .addColumn('workspace_id', 'bigint', (c) => c.notNull())
    .addColumn('request_id', 'bigint', (c) => c.notNull().references('requests.id'))
    .addColumn('tag', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('request_tags_pk', ['request_id', 'tag'])
    .execute();
  await db.schema.createIndex('request_tags_ws_tag').on('request_tags').columns(['workspace_id', 'tag', 'request_id']).execute();

  await db.schema
    .createTable('request_metadata')
    .addColumn('workspace_id', 'bigint', (c) => c.notNull())
    .addColumn('request_id', 'bigint', (c) => c.notNull().references('requests.id'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('request_metadata_pk', ['request_id', 'key'])
    .execute();
  await db.schema
    .createIndex('request_metadata_ws_key')
    .on('request_metadata')
    .columns(['workspace_id', 'key', 'request_id'])
    .execute();

  await db.schema
    .createTable('groups')
    .addColumn('id', d.idType, (c) => d.identity(c))
    .addColumn('workspace_id', 'bigint', (c) => c.notNull().references('workspaces.id'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('request_groups')
    .addColumn('workspace_id', 'bigint', (c) => c.notNull())
    .addColumn('request_id', 'bigint', (c) => c.notNull().references('requests.id'))
    .addColumn('group_id', 'bigint', (c) => c.notNull().references('groups.id'))
    .addPrimaryKeyConstraint('request_groups_pk', ['request_id', 'group_id'])
    .execute();
  await db.schema.createIndex('request_groups_group').on('request_groups').columns(['group_id', 'request_id']).execute();

  await db.schema
    .createTable('scores')
    .addColumn('workspace_id', 'bigint', (c) => c.notNull())
    .addColumn('request_id', 'bigint', (c) => c.notNull().references('requests.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('value', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('scores_pk', ['request_id', 'name'])
    .execute();
  // Filter and sort by a named score within a workspace.
  await db.schema
    .createIndex('scores_ws_name_value')
    .on('scores')
    .columns(['workspace_id', 'name', 'value', 'request_id'])
    .execute();

  await db.schema
    .createTable('score_events')
    .addColumn('id', d.idType, (c) => d.identity(c))
    .addColumn('workspace_id', 'bigint', (c) => c.notNull())
    .addColumn('request_id', 'bigint', (c) => c.notNull().references('requests.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('old_value', 'integer')
    .addColumn('new_value', 'integer')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('comment', 'text')
    .addColumn('batch_id', 'text')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('score_events_request').on('score_events').columns(['request_id', 'id']).execute();
  await db.schema.createIndex('score_events_ws').on('score_events').columns(['workspace_id', 'id']).execute();
}
