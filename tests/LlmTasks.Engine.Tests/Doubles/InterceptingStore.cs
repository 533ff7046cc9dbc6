using System.Reflection;
using LlmTasks.Storage;

namespace LlmTasks.Tests.Doubles;

/// <summary>
/// A real store with a hook run after each call of a chosen method returns (on the caller's thread, before
/// the caller sees the result): a test double that lets a test hold a store worker between its read and
/// what it does with the answer. Built on <see cref="DispatchProxy"/>, so every other member is the real one.
/// </summary>
public class InterceptingStore : DispatchProxy
{
    private ITaskStore _inner = null!;
    private string _method = string.Empty;
    private Action<object?> _after = _ => { };

    public static ITaskStore Wrap(ITaskStore inner, string method, Action<object?> after)
    {
        var store = Create<ITaskStore, InterceptingStore>();
        var proxy = (InterceptingStore)(object)store;
        (proxy._inner, proxy._method, proxy._after) = (inner, method, after);
        return store;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        object? result;
        try
        {
            result = targetMethod!.Invoke(_inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }

        if (targetMethod.Name == _method)
        {
            _after(result);
        }

        return result;
    }
}
