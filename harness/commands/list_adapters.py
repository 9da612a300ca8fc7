"""``resize-conformance list-adapters``: the adapters that can be named without a module path
(built-ins and ``tf_resize_conformance.adapters`` entry points, ``harness.registry``)."""

import dataclasses

from harness.commands._common import EXIT_OK, bind


def register(sub, parser_class):
    la = sub.add_parser("list-adapters", help="list the adapters that can be named without a module path")
    bind(la, ListAdaptersOptions, cmd_list_adapters)


@dataclasses.dataclass(frozen=True)
class ListAdaptersOptions:
    """No options."""

    @classmethod
    def from_args(cls, args, argv):
        return cls()


def cmd_list_adapters(options):
    from harness.registry import available

    names = available()
    width = max((len(n) for n in names), default=0)
    for name, target in sorted(names.items()):
        print(f"{name:<{width}}  {target}")
    return EXIT_OK
