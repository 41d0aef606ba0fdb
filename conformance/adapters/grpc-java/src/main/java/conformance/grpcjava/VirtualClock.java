package conformance.grpcjava;

import io.grpc.Deadline;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The channel's timer service on a virtual clock: nothing runs until {@link #advance} or {@link
 * #runDue}, and then due tasks run on the caller's thread in (due time, submission) order.
 *
 * <p>Every grpc-java timer the policies use goes through {@code
 * Helper.getScheduledExecutorService()} (via {@code SynchronizationContext.schedule}, which runs
 * the task back on the synchronization context), so this clock is the only time they see; {@link
 * #ticker} serves weighted_round_robin's blackout and expiry, which read a {@code Deadline.Ticker}.
 * Single-threaded: the adapter has no other thread.
 */
final class VirtualClock extends AbstractExecutorService implements ScheduledExecutorService {
  private long nowNanos;
  private long submitted;
  private final PriorityQueue<Task> queue = new PriorityQueue<>();

  final Deadline.Ticker ticker =
      new Deadline.Ticker() {
        @Override
        public long nanoTime() {
          return nowNanos;
        }
      };

  /** Moves the clock forward by {@code nanos}, running every task that falls due on the way. */
  void advance(long nanos) {
    long target = nowNanos + nanos;
    runUntil(target);
    nowNanos = target;
  }

  /** Runs the tasks due now (zero-delay ones submitted by the last input), clock unchanged. */
  void runDue() {
    runUntil(nowNanos);
  }

  private void runUntil(long target) {
    while (!queue.isEmpty() && queue.peek().due <= target) {
      Task task = queue.poll();
      nowNanos = Math.max(nowNanos, task.due);
      task.run();
    }
  }

  private Task enqueue(Runnable command, long delayNanos, long periodNanos) {
    Task task = new Task(command, nowNanos + Math.max(0, delayNanos), periodNanos, submitted++);
    queue.add(task);
    return task;
  }

  private final class Task implements ScheduledFuture<Object>, Runnable {
    private final Runnable command;
    private final long periodNanos;
    private long due;
    private long order;
    private boolean cancelled;
    private boolean done;

    Task(Runnable command, long due, long periodNanos, long order) {
      this.command = command;
      this.due = due;
      this.periodNanos = periodNanos;
      this.order = order;
    }

    @Override
    public void run() {
      command.run();
      if (periodNanos > 0 && !cancelled) {
        due += periodNanos;
        order = submitted++;
        queue.add(this);
      } else {
        done = true;
      }
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(due - nowNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed other) {
      Task that = (Task) other;
      return due != that.due ? Long.compare(due, that.due) : Long.compare(order, that.order);
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      if (done || cancelled) {
        return false;
      }
      cancelled = true;
      queue.remove(this);
      return true;
    }

    @Override
    public boolean isCancelled() {
      return cancelled;
    }

    @Override
    public boolean isDone() {
      return done || cancelled;
    }

    @Override
    public Object get() {
      throw new UnsupportedOperationException("no policy waits on a timer's result");
    }

    @Override
    public Object get(long timeout, TimeUnit unit) {
      throw new UnsupportedOperationException("no policy waits on a timer's result");
    }
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    return enqueue(command, unit.toNanos(delay), 0);
  }

  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
    throw new UnsupportedOperationException("schedule(Callable): no policy uses it");
  }

  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(
      Runnable command, long initialDelay, long period, TimeUnit unit) {
    return enqueue(command, unit.toNanos(initialDelay), unit.toNanos(period));
  }

  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(
      Runnable command, long initialDelay, long delay, TimeUnit unit) {
    // Tasks take no virtual time, so a fixed delay and a fixed rate are the same schedule.
    return enqueue(command, unit.toNanos(initialDelay), unit.toNanos(delay));
  }

  /** "As soon as possible": due now, run by the {@link #runDue} that ends the current input. */
  @Override
  public void execute(Runnable command) {
    enqueue(command, 0, 0);
  }

  @Override
  public void shutdown() {}

  @Override
  public List<Runnable> shutdownNow() {
    return List.of();
  }

  @Override
  public boolean isShutdown() {
    return false;
  }

  @Override
  public boolean isTerminated() {
    return false;
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) {
    return true;
  }
}
