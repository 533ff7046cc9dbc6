using System.Net;
using System.Net.Sockets;

namespace LlmTasks.Board;

/// <summary>
/// The board's HTTP listener on 127.0.0.1. <see cref="HttpListener"/> is part of .NET itself, so the board runs in a
/// standard pwsh installation, which ships no ASP.NET Core shared framework (Kestrel needs one). HttpListener cannot take
/// port 0, so a free port is found by binding a socket to port 0 and taking the port the system gave it; should another
/// program take it first, the next is tried.
/// </summary>
internal static class BoardListener
{
    private const int FreePortTries = 10;

    public static HttpListener Listen(int port)
    {
        if (port != 0)
        {
            return Open(port) ?? throw Unavailable(port, InUse(port)
                ? $"Port {port} on 127.0.0.1 is in use. Choose another -Port, or leave -Port out to take a free one."
                : $"Port {port} on 127.0.0.1 cannot be listened on. Choose another -Port, or leave -Port out to take a free one.");
        }

        for (var i = 0; i < FreePortTries; i++)
        {
            if (Open(FreePort()) is { } listener)
            {
                return listener;
            }
        }

        throw Unavailable(0, $"No free port on 127.0.0.1 could be listened on after {FreePortTries} tries.");
    }

    private static HttpListener? Open(int port)
    {
        var listener = new HttpListener { IgnoreWriteExceptions = true };
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        try
        {
            listener.Start();
            return listener;
        }
        catch (HttpListenerException)
        {
            listener.Close();
            return null;
        }
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private static bool InUse(int port)
    {
        try
        {
            using var socket = new TcpListener(IPAddress.Loopback, port);
            socket.Start();
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    private static LlmTasksException Unavailable(int port, string message) =>
        new(ErrorIds.BoardPortUnavailable, LlmErrorCategory.ResourceUnavailable, message) { Target = port };
}
