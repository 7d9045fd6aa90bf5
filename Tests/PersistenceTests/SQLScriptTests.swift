import Persistence
import Testing

@Suite struct SQLScriptTests {
    @Test func splitsOnSemicolonsOutsideQuotesCommentsAndDollarBodies() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE a (note text DEFAULT 'x;y');
            /* block; comment */ CREATE TABLE "b;c" (id int);
            DO $$ BEGIN PERFORM 1; END $$;
            CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
            INSERT INTO a VALUES ('it''s; fine')
            """
        let statements = SQLScript.statements(in: script)
        #expect(statements.count == 5)
        #expect(statements[0].hasSuffix("DEFAULT 'x;y')"))
        #expect(statements[1].hasSuffix("CREATE TABLE \"b;c\" (id int)"))
        #expect(statements[2] == "DO $$ BEGIN PERFORM 1; END $$")
        #expect(statements[3].contains("$body$ SELECT 1; $body$"))
        #expect(statements[4] == "INSERT INTO a VALUES ('it''s; fine')")
    }

    @Test func commentOnlyTailIsNotAStatement() {
        #expect(SQLScript.statements(in: "SELECT 1;\n-- trailing\n") == ["SELECT 1"])
    }

    @Test func positionalParametersAreNotDollarQuotes() {
        #expect(SQLScript.statements(in: "SELECT $1; SELECT 2") == ["SELECT $1", "SELECT 2"])
    }
}
