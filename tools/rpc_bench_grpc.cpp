// The gRPC rows of `lamina rpc bench`: a unary echo, served with the callback API; called with
// the synchronous stub for round trips and with the callback API for calls outstanding at once.
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "rpc_bench.grpc.pb.h"
#include "tools/rpc_bench_caller.hpp"

namespace lamina::tools {
namespace {

class EchoService final : public bench::Bench::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const bench::EchoMessage* request,
                                 bench::EchoMessage* response) override {
    response->set_data(request->data());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

class GrpcCaller final : public Caller {
public:
  GrpcCaller(std::uint16_t port, std::size_t size, bool sync)
      : stub_(bench::Bench::NewStub(grpc::CreateChannel(fmt::format("127.0.0.1:{}", port),
                                                        grpc::InsecureChannelCredentials()))),
        sync_(sync) {
    request_.set_data(std::string(size, 'x'));
  }

  void start(Done done) override {
    if (sync_) {
      grpc::ClientContext context;
      bench::EchoMessage response;
      const grpc::Status s = stub_->Echo(&context, request_, &response);
      std::lock_guard lock(mutex_);
      ended_.emplace_back(std::move(done), s.ok() && response.data() == request_.data());
      return;
    }
    auto* call = new Call{std::move(done), {}, {}};
    stub_->async()->Echo(&call->context, &request_, &call->response, [this, call](grpc::Status s) {
      const bool ok = s.ok() && call->response.data() == request_.data();
      {
        std::lock_guard lock(mutex_);
        ended_.emplace_back(std::move(call->done), ok);
      }
      delete call;
      ready_.notify_one();
    });
  }

  void poll(Duration wait) override {
    std::deque<std::pair<Done, bool>> ended;
    {
      std::unique_lock lock(mutex_);
      ready_.wait_for(lock, wait, [&] { return !ended_.empty(); });
      ended.swap(ended_);
    }
    for (auto& [done, ok] : ended) done(ok);
  }

private:
  struct Call {
    Done done;
    grpc::ClientContext context;
    bench::EchoMessage response;
  };
  std::unique_ptr<bench::Bench::Stub> stub_;
  bool sync_;
  bench::EchoMessage request_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::pair<Done, bool>> ended_;
};

} // namespace

void grpc_echo_serve(std::uint16_t port) {
  EchoService service;
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(fmt::format("127.0.0.1:{}", port), grpc::InsecureServerCredentials(),
                           &bound);
  builder.RegisterService(&service);
  const std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound == 0)
    throw std::runtime_error(fmt::format("gRPC: cannot listen on 127.0.0.1:{}", port));
  std::fputs("ready\n", stdout);
  std::fflush(stdout);
  server->Wait();
}

std::unique_ptr<Caller> grpc_echo_caller(std::uint16_t port, std::size_t size, bool sync) {
  return std::make_unique<GrpcCaller>(port, size, sync);
}

} // namespace lamina::tools
