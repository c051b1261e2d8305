#include "services/rpc/kv.hpp"

#include <fmt/format.h>

namespace lamina::rpc::kv {

namespace {
bool key_too_long(std::string_view key, std::string& error) {
  if (key.size() <= Store::kMaxKey) return false;
  error = fmt::format("a key of {} bytes; at most {}", key.size(), Store::kMaxKey);
  return true;
}
} // namespace

Store::Store(Node& node) {
  node.serve<Echo>([this](const Echo::Request& req, Echo::Response& resp, std::string&) {
    ++runs_[Echo::name];
    resp.data = req.data; // a view of the call's buffer, marshalled into the answer's
    return Status::ok;
  });
  node.serve<Get>([this](const Get::Request& req, Get::Response& resp, std::string& error) {
    ++runs_[Get::name];
    if (key_too_long(req.key, error)) return Status::handler_error;
    const auto it = data_.find(req.key);
    resp.found = it != data_.end();
    if (resp.found) resp.value = it->second;
    return Status::ok;
  });
  node.serve<Put>([this](const Put::Request& req, Put::Response& resp, std::string& error) {
    ++runs_[Put::name];
    if (key_too_long(req.key, error)) return Status::handler_error;
    auto [it, added] = data_.try_emplace(std::string(req.key), req.value);
    if (!added) it->second = req.value;
    resp.replaced = !added;
    overwrites_ += resp.replaced;
    return Status::ok;
  });
  node.serve<Delete>(
      [this](const Delete::Request& req, Delete::Response& resp, std::string& error) {
        ++runs_[Delete::name];
        if (key_too_long(req.key, error)) return Status::handler_error;
        const auto it = data_.find(req.key);
        resp.found = it != data_.end();
        if (resp.found) data_.erase(it);
        return Status::ok;
      });
}

} // namespace lamina::rpc::kv
