import type { ColumnDataType, ColumnDefinitionBuilder } from 'kysely';

/** Where the two backends' DDL differs: how an auto-assigned integer id is declared, and triggers. */
export interface MigrationDialect {
  backend: 'sqlite' | 'postgres';
  idType: ColumnDataType;
  identity(c: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
}
