import type { Kysely } from 'kysely';
import type { RequestFilter, SortPosition, SortSpec } from '../domain/search-query.js';
import { readFor } from './read-scope.js';
import type { Database } from './schema.js';
import { countMatchingRequests, detailsOf, type DetailOptions, exportColumnsSql, readRequest, selectPageEnds, selectRequestContentPage, selectRequestPage } from './search.js';
import type { PageEndsQuery, RequestContentText, RequestDetails, RequestPage, RequestSearch, RequestSummary, StoredRequest } from './types.js';

/** Reads of logged requests: one request, search, PromptLayer's search and export. Writes go through the write queue. */
export interface RequestStore {
  get(workspaceId: number, id: number): Promise<StoredRequest | null>;
  /** One page of matching requests, without input, output, parameters or prompt variables. */
  search(workspaceId: number, query: RequestSearch): Promise<RequestPage<RequestSummary>>;
  /** One page of matching requests with everything logged, content as its stored JSON text (see parseContent). */
  searchContents(workspaceId: number, query: RequestSearch): Promise<RequestPage<RequestContentText>>;
  /**
   * A CSV export's request columns (search.ts COPY_COLUMNS) of the matching requests in sort order
   * (by a column), as PostgreSQL's COPY writes them: RFC 4180 quoting, LF line ends, one row per
   * request. Only where `capabilities.copyCsv`.
   */
  copyCsv(workspaceId: number, filter: RequestFilter | null, sort: SortSpec): AsyncIterable<Buffer>;
  /** The tags, metadata, groups and scores of these requests (ids read from the workspace). */
  details(ids: number[], opts?: DetailOptions): Promise<Map<number, RequestDetails>>;
  /** Where each full page of matching requests ends, for a sort by a column (see selectPageEnds). */
  pageEnds(query: PageEndsQuery): Promise<SortPosition[]>;
  /** How many requests match; with `bound`, at most `bound + 1` (more than the bound reads as bound + 1). */
  count(workspaceId: number, filter: RequestFilter | null, bound?: number): Promise<number>;
  /** Which of `ids` are requests of this workspace (a foreign id is as absent as a missing one). */
  existingIds(workspaceId: number, ids: readonly number[]): Promise<Set<number>>;
}

/** Where the backends read requests differently. */
export interface RequestReadTraits {
  /**
   * Page ends in one query that numbers every row, where each query is a round trip to a server
   * (PostgreSQL); otherwise one cheap query per page.
   */
  pageEndsInOneQuery: boolean;
  /** Runs a SELECT (values inlined) as `COPY ... TO STDOUT (FORMAT csv)`, where the backend can. */
  copyCsv?(query: string): AsyncIterable<Buffer>;
}

// Keeps each IN list well under SQLite's and PostgreSQL's bound-parameter limits.
const CHUNK = 500;

/** Which of `ids` are requests of this workspace; also the batch score write's check. */
export async function selectExistingRequestIds(db: Kysely<Database>, workspaceId: number, ids: readonly number[]): Promise<Set<number>> {
  const unique = [...new Set(ids)];
  const found = new Set<number>();
  for (let i = 0; i < unique.length; i += CHUNK) {
    const rows = await db
      .selectFrom('requests')
      .select('id')
      .where('workspace_id', '=', workspaceId)
      .where('id', 'in', unique.slice(i, i + CHUNK))
      .execute();
    for (const r of rows) found.add(Number(r.id));
  }
  return found;
}

/** The request reads over Kysely; the filtered, paged queries are built in search.ts. */
export class SqlRequests implements RequestStore {
  /**
   * @param reads where the reads that clients' filters steer run, each with a deadline that stops
   * it (BackendTraits.readDb); `db` for the rest.
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly reads: Kysely<Database>,
    private readonly traits: RequestReadTraits,
  ) {}

  get(workspaceId: number, id: number): Promise<StoredRequest | null> {
    return readFor(workspaceId, () => readRequest(this.reads, workspaceId, id));
  }

  search(workspaceId: number, query: RequestSearch): Promise<RequestPage<RequestSummary>> {
    return readFor(workspaceId, () => selectRequestPage(this.reads, workspaceId, query));
  }

  searchContents(workspaceId: number, query: RequestSearch): Promise<RequestPage<RequestContentText>> {
    return readFor(workspaceId, () => selectRequestContentPage(this.reads, workspaceId, query));
  }

  copyCsv(workspaceId: number, filter: RequestFilter | null, sort: SortSpec): AsyncIterable<Buffer> {
    if (!this.traits.copyCsv) throw new Error('this store has no COPY');
    return this.traits.copyCsv(exportColumnsSql(this.db, workspaceId, filter, sort));
  }

  details(ids: number[], opts?: DetailOptions): Promise<Map<number, RequestDetails>> {
    return detailsOf(this.db, ids, opts);
  }

  pageEnds(query: PageEndsQuery): Promise<SortPosition[]> {
    return readFor(query.workspaceId, () => selectPageEnds(this.reads, { ...query, inOneQuery: this.traits.pageEndsInOneQuery }));
  }

  count(workspaceId: number, filter: RequestFilter | null, bound?: number): Promise<number> {
    return readFor(workspaceId, () => countMatchingRequests(this.reads, workspaceId, filter, bound));
  }

  existingIds(workspaceId: number, ids: readonly number[]): Promise<Set<number>> {
    return selectExistingRequestIds(this.db, workspaceId, ids);
  }
}
