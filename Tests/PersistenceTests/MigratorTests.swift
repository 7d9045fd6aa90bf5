import Persistence
import PostgresNIO
import Testing
import TestSupport

@Suite struct MigratorTests {
    let first = Migration(id: "demo/0001_widgets", sql: "CREATE TABLE widgets (id int PRIMARY KEY); INSERT INTO widgets VALUES (1);")
    let second = Migration(id: "demo/0002_gadgets", sql: "CREATE TABLE gadgets (id int PRIMARY KEY)")

    @Test func appliesEachMigrationOnceEvenWhenInstancesStartTogether() async throws {
        try await TestDatabase.withSchema(migrations: []) { database in
            let migrator = Migrator(client: database.client, schema: database.schema, logger: TestEnvironment.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { try await migrator.migrate([first, second]) } }
                try await group.waitForAll()
            }
            try await migrator.migrate([first, second])
            #expect(try await database.count("SELECT count(*) FROM widgets") == 1)
            #expect(try await database.count("SELECT count(*) FROM schema_migrations") == 2)
        }
    }

    @Test func refusesAMigrationChangedAfterItWasApplied() async throws {
        try await TestDatabase.withSchema(migrations: []) { database in
            let migrator = Migrator(client: database.client, schema: database.schema, logger: TestEnvironment.logger)
            try await migrator.migrate([first])
            let edited = Migration(id: first.id, sql: first.sql + " -- edited")
            let error = await #expect(throws: PersistenceError.self) { try await migrator.migrate([edited]) }
            #expect(error?.code == "migration_changed")
        }
    }

    @Test func aFailingMigrationLeavesNothingBehind() async throws {
        try await TestDatabase.withSchema(migrations: []) { database in
            let migrator = Migrator(client: database.client, schema: database.schema, logger: TestEnvironment.logger)
            let broken = Migration(id: "demo/0001_broken", sql: "CREATE TABLE half (id int); SELECT * FROM missing_table;")
            var failed = false
            do { try await migrator.migrate([broken]) } catch { failed = true }
            #expect(failed)
            let halfTables = try await database.count(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'half'")
            #expect(halfTables == 0)
            #expect(try await database.count("SELECT count(*) FROM schema_migrations") == 0)
        }
    }

    @Test func aMissingSchemaIsAClearError() async throws {
        try await TestDatabase.withSchema(migrations: []) { database in
            let migrator = Migrator(client: database.client, schema: "no_such_schema", logger: TestEnvironment.logger)
            let error = await #expect(throws: PersistenceError.self) { try await migrator.migrate([first]) }
            #expect(error?.code == "schema_missing")
        }
    }
}
