"""The local stack: the AWS topology on this machine (`make stack`, `python -m deploy.stack`)."""

from deploy.stack.stack import INSTANCES, LocalStack, StackError

__all__ = ["INSTANCES", "LocalStack", "StackError"]
