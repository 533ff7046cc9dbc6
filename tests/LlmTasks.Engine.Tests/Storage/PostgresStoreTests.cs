using LlmTasks.Execution;
using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;
using LlmTasks.Tests.Stores;

namespace LlmTasks.Tests.Storage;

/// <summary>What only the PostgreSQL store has: its references and password sources, its schema in a database, its server.</summary>
public sealed class PostgresStoreTests : IDisposable
{
    private readonly TempStore _temp = new(StoreKind.Postgres);

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void A_smoke_run_completes()
    {
        using var manager = Managers.Open(_temp.Path);
        var ids = Enumerable.Range(0, 50).Select(i => manager.Start(Managers.Request($"p{i}")).Id).ToList();
        var done = Managers.WaitAll(manager, ids);
        Assert.All(done, t => Assert.Equal(LlmTaskState.Completed, t.State));
        Assert.Equal(_temp.Display, done[0].StorePath);
    }
}
