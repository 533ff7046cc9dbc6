using LlmTasks.Storage;
using LlmTasks.Tests.Doubles;

namespace LlmTasks.Tests.Storage;

/// <summary>Text search, sorting, paging and counts of a task list (what a board's list reads), on both backends.</summary>
public abstract class TaskPagingTests(StoreKind kind) : IDisposable
{
    public sealed class OnSqlite() : TaskPagingTests(StoreKind.Sqlite);

    public sealed class OnPostgres() : TaskPagingTests(StoreKind.Postgres);

    private readonly TempStore _temp = new(kind);

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Text_with_percent_underscore_or_backslash_matches_only_itself()
    {
        using var manager = Managers.Open(_temp.Path);
        string[] prompts = ["50% off", "500 offers", "a_b", "axb", @"C:\temp", "C:temp"];
        var ids = prompts.Select(p => manager.Start(Managers.Request(p)).Id).ToList();
        Managers.WaitAll(manager, ids);

        Assert.Equal([ids[0]], manager.Store.Query(new TaskQuery { Text = "50%" }).Select(t => t.Id));
        Assert.Equal([ids[2]], manager.Store.Query(new TaskQuery { Text = "A_B" }).Select(t => t.Id));
        Assert.Equal([ids[4]], manager.Store.Query(new TaskQuery { Text = @"c:\t" }).Select(t => t.Id));
        Assert.Equal(1, manager.Store.Count(new TaskQuery { Text = "50%" }));
    }

    [Fact]
    public void A_page_comes_in_the_order_asked_and_the_count_is_of_every_match()
    {
        using var manager = Managers.Open(_temp.Path);
        var ids = new List<long>();
        for (var i = 0; i < 7; i++)
        {
            var request = Managers.Request($"question {i}", name: i % 2 == 0 ? $"even-{i}" : $"odd-{i}") with { MockResponse = i == 3 ? "The TIMEOUT was hit" : $"answer {i}" };
            ids.Add(manager.Start(request).Id);
        }

        Managers.WaitAll(manager, ids);
        var store = manager.Store;

        var newestFirst = store.Query(new TaskQuery { Sort = TaskSort.Created, Descending = true, Skip = 2, Take = 3 });
        Assert.Equal(ids.AsEnumerable().Reverse().Skip(2).Take(3), newestFirst.Select(t => t.Id));
        Assert.Equal(7, store.Count(new TaskQuery { Take = 1 }));

        var evens = new TaskQuery { Names = ["even-*"], Sort = TaskSort.Name, Take = 2 };
        Assert.Equal(["even-0", "even-2"], store.Query(evens).Select(t => t.Name));
        Assert.Equal(4, store.Count(evens));

        // A set pattern is matched after the read: the page and the count still hold only matches.
        var set = new TaskQuery { Names = ["[o]dd-*"], Sort = TaskSort.Name, Descending = true, Skip = 1, Take = 1 };
        Assert.Equal(["odd-3"], store.Query(set).Select(t => t.Name));
        Assert.Equal(3, store.Count(set));

        // Text in the output, any case; text in the prompt.
        Assert.Equal([ids[3]], store.Query(new TaskQuery { Text = "timeout" }).Select(t => t.Id));
        Assert.Equal([ids[5]], store.Query(new TaskQuery { Text = "QUESTION 5" }).Select(t => t.Id));
        Assert.Equal(0, store.Count(new TaskQuery { Text = "nowhere" }));
    }

    [Fact]
    public void Newest_with_paging_is_refused_before_the_store_is_read()
    {
        using var store = TaskStore.Open(_temp.Path);
        Assert.Throws<ArgumentException>(() => store.Query(new TaskQuery { Newest = 3, Take = 2 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Query(new TaskQuery { Skip = -1 }));
    }
}
